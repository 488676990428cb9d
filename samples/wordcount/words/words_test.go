package words

import (
	"bytes"
	"maps"
	"strings"
	"testing"
)

func TestCount(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]int64
	}{
		{"", map[string]int64{}},
		{"The the THE", map[string]int64{"the": 3}},
		{"Don't stop-me now!", map[string]int64{"don": 1, "t": 1, "stop": 1, "me": 1, "now": 1}},
		{"Ünïcode ünïcode 42", map[string]int64{"ünïcode": 2, "42": 1}},
		{"tab\tand\nnewline", map[string]int64{"tab": 1, "and": 1, "newline": 1}},
	}
	for _, tt := range tests {
		got := map[string]int64{}
		if err := Count(strings.NewReader(tt.in), got); err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(got, tt.want) {
			t.Errorf("Count(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestCountsRoundTrip(t *testing.T) {
	counts := map[string]int64{"b": 2, "a": 1, "ünïcode": 7}
	var buf bytes.Buffer
	if err := WriteCounts(&buf, counts); err != nil {
		t.Fatal(err)
	}
	if want := "a\t1\nb\t2\nünïcode\t7\n"; buf.String() != want {
		t.Fatalf("WriteCounts = %q, want %q", buf.String(), want)
	}
	got := map[string]int64{"a": 10}
	if err := ReadCounts(&buf, got); err != nil {
		t.Fatal(err)
	}
	if want := map[string]int64{"a": 11, "b": 2, "ünïcode": 7}; !maps.Equal(got, want) {
		t.Fatalf("ReadCounts summed to %v, want %v", got, want)
	}
}

func TestReadCountsRefusesGarbage(t *testing.T) {
	for _, in := range []string{"word", "word\tmany", "\t3", "word\t-1", "a\t1\nb 2\n"} {
		if err := ReadCounts(strings.NewReader(in), map[string]int64{}); err == nil || !strings.Contains(err.Error(), "line") {
			t.Errorf("ReadCounts(%q) = %v, want an error naming the line", in, err)
		}
	}
}

func TestChunks(t *testing.T) {
	text := []byte("alpha beta gamma delta\nepsilon zeta eta theta iota kappa")
	for n := 1; n <= 12; n++ {
		chunks := Chunks(text, n)
		if len(chunks) > n || len(chunks) == 0 {
			t.Fatalf("n=%d: %d chunks", n, len(chunks))
		}
		whole := map[string]int64{}
		Count(bytes.NewReader(text), whole)
		split := map[string]int64{}
		for _, c := range chunks {
			Count(bytes.NewReader(c), split)
		}
		if !maps.Equal(whole, split) || !bytes.Equal(bytes.Join(chunks, nil), text) {
			t.Fatalf("n=%d: chunks %q count differently or lose bytes", n, chunks)
		}
	}
}

func TestPartitionIsStable(t *testing.T) {
	for _, w := range []string{"a", "word", "ünïcode"} {
		p := Partition(w, 7)
		if p < 0 || p >= 7 || Partition(w, 7) != p {
			t.Fatalf("Partition(%q, 7) = %d, not stable or out of range", w, p)
		}
	}
}

// FuzzReadCounts checks that counts written can be read back unchanged
// and that no input makes ReadCounts panic.
func FuzzReadCounts(f *testing.F) {
	f.Add("a\t1\nb\t2\n")
	f.Add("x\t99999999999999999999\n")
	f.Fuzz(func(t *testing.T, in string) {
		counts := map[string]int64{}
		if ReadCounts(strings.NewReader(in), counts) != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteCounts(&buf, counts); err != nil {
			t.Fatal(err)
		}
		again := map[string]int64{}
		if err := ReadCounts(&buf, again); err != nil {
			t.Fatalf("counts written from %q do not read back: %v", in, err)
		}
		if !maps.Equal(counts, again) {
			t.Fatalf("round trip changed %v into %v", counts, again)
		}
	})
}
