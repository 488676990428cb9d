package allocator

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestTree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var tr tree[int]
	nodes := make([]node[int], 200)
	in := make([]bool, len(nodes))
	for i := range nodes {
		nodes[i].init(i, fmt.Sprintf("n%03d", i))
	}
	for step := range 20000 {
		i := rng.IntN(len(nodes))
		n := &nodes[i]
		switch {
		case !in[i]:
			n.key.share = float64(rng.IntN(10))
			tr.insert(n)
			in[i] = true
		case rng.IntN(2) == 0:
			tr.remove(n)
			in[i] = false
		default:
			tr.rekey(n, float64(rng.IntN(10)))
		}
		if step%100 == 0 {
			checkTree(t, &tr, nodes, in)
		}
	}
}

// checkTree compares the tree with a sort of the nodes in it, and first
// and after with a scan.
func checkTree(t *testing.T, tr *tree[int], nodes []node[int], in []bool) {
	t.Helper()
	var want []sortKey
	for i := range nodes {
		if in[i] {
			want = append(want, nodes[i].key)
		}
	}
	slices.SortFunc(want, func(a, b sortKey) int {
		switch {
		case a.less(b):
			return -1
		case b.less(a):
			return 1
		}
		return 0
	})
	var got []sortKey
	for n := tr.first(); n != nil; n = tr.after(n.key) {
		got = append(got, n.key)
	}
	if !slices.Equal(got, want) || tr.size != len(want) {
		t.Fatalf("tree walk %v (size %d), want %v", got, tr.size, want)
	}
	if err := checkOrder(tr); err != nil {
		t.Fatal(err)
	}
}

func TestTreeAfterMissingKey(t *testing.T) {
	var tr tree[string]
	var a, b node[string]
	a.init("a", "a")
	b.init("b", "b")
	a.key.share, b.key.share = 1, 2
	tr.insert(&a)
	tr.insert(&b)
	tests := []struct {
		name string
		key  sortKey
		want string
	}{
		{name: "before all", key: sortKey{share: 0, name: "z"}, want: "a"},
		{name: "between", key: sortKey{share: 1.5}, want: "b"},
		{name: "equal share, later name", key: sortKey{share: 1, name: "b"}, want: "b"},
		{name: "after all", key: sortKey{share: 2, name: "b"}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if n := tr.after(tt.key); n != nil {
				got = n.val
			}
			if got != tt.want {
				t.Errorf("after(%v) = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}

func TestShuffle(t *testing.T) {
	for _, n := range []int{0, 1, 2, 63, 64, 65, 200, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			a := New(Config{Seed: 7})
			agents := make([]*agent, n)
			for i := range agents {
				agents[i] = &agent{idx: i}
			}
			firsts := map[int]bool{}
			for pass := range 200 {
				a.pass.number = uint64(pass)
				order := slices.Clone(agents)
				a.shuffle(order)
				seen := make([]bool, n)
				for _, ag := range order {
					if seen[ag.idx] {
						t.Fatalf("pass %d: agent %d visited twice", pass, ag.idx)
					}
					seen[ag.idx] = true
				}
				if n > 0 {
					firsts[order[0].idx] = true
				}
			}
			if want := min(n, 50); len(firsts) < want {
				t.Errorf("only %d distinct agents came first in 200 passes, want at least %d", len(firsts), want)
			}
		})
	}
}

func TestShuffleDependsOnSeed(t *testing.T) {
	order := func(seed uint64) []int {
		a := New(Config{Seed: seed})
		agents := make([]*agent, 300)
		for i := range agents {
			agents[i] = &agent{idx: i}
		}
		a.shuffle(agents)
		out := make([]int, len(agents))
		for i, ag := range agents {
			out[i] = ag.idx
		}
		return out
	}
	if slices.Equal(order(1), order(2)) {
		t.Error("seeds 1 and 2 give the same order")
	}
	if !slices.Equal(order(3), order(3)) {
		t.Error("seed 3 gives two orders")
	}
}
