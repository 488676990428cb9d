package allocator

// sortKey orders roles and frameworks in the DRF sorters: lowest share
// first, ties broken by name so that the order is deterministic.
type sortKey struct {
	share float64
	name  string
}

// less reports whether k sorts before o.
func (k sortKey) less(o sortKey) bool {
	if k.share != o.share {
		return k.share < o.share
	}
	return k.name < o.name
}

// node is an element of a tree. It is embedded in the role or membership it
// orders, so that trees never allocate.
type node[T any] struct {
	key         sortKey
	prio        uint64
	left, right *node[T]
	val         T
}

// tree is an ordered set of nodes: a treap whose priorities are a hash of
// the node's name. Why a treap rather than re-sorting: after every offer one
// framework's and one role's share grows, and re-keying is an O(log n)
// remove and insert, where a sort per agent would be O(n log n); why hashed
// priorities: the shape, and so the cost, is the same on every run.
//
// Keys within one tree must be unique (names are), and a node's key must
// not change while it is in the tree: use rekey.
type tree[T any] struct {
	root *node[T]
	size int
}

// init sets n's value and name and its priority from the name.
func (n *node[T]) init(val T, name string) {
	n.val = val
	n.key = sortKey{name: name}
	n.prio = hashName(name)
}

// hashName is FNV-1a followed by a final mix, so that similar names get
// unrelated priorities.
func hashName(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return mix64(h)
}

// mix64 is the splitmix64 finalizer.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// insert adds n, which must not be in t.
func (t *tree[T]) insert(n *node[T]) {
	n.left, n.right = nil, nil
	t.root = insertNode(t.root, n)
	t.size++
}

// remove takes n, which must be in t, out of t.
func (t *tree[T]) remove(n *node[T]) {
	t.root = removeNode(t.root, n)
	n.left, n.right = nil, nil
	t.size--
}

// rekey moves n, which must be in t, to a new share.
func (t *tree[T]) rekey(n *node[T], share float64) {
	if n.key.share == share {
		return
	}
	t.remove(n)
	n.key.share = share
	t.insert(n)
}

// first returns the node with the lowest key, or nil when t is empty.
func (t *tree[T]) first() *node[T] {
	n := t.root
	if n == nil {
		return nil
	}
	for n.left != nil {
		n = n.left
	}
	return n
}

// after returns the node with the lowest key greater than k, or nil.
// Why by key rather than by node: the node just visited may have moved, and
// the walk must continue from where it was.
func (t *tree[T]) after(k sortKey) *node[T] {
	var best *node[T]
	for n := t.root; n != nil; {
		if k.less(n.key) {
			best, n = n, n.left
		} else {
			n = n.right
		}
	}
	return best
}

// appendAll appends the nodes of t in order to out.
func (t *tree[T]) appendAll(out []*node[T]) []*node[T] {
	return appendInOrder(out, t.root)
}

func appendInOrder[T any](out []*node[T], n *node[T]) []*node[T] {
	for n != nil {
		out = appendInOrder(out, n.left)
		out = append(out, n)
		n = n.right
	}
	return out
}

func insertNode[T any](root, n *node[T]) *node[T] {
	if root == nil {
		return n
	}
	if n.key.less(root.key) {
		root.left = insertNode(root.left, n)
		if root.left.prio > root.prio {
			root = rotateRight(root)
		}
		return root
	}
	root.right = insertNode(root.right, n)
	if root.right.prio > root.prio {
		root = rotateLeft(root)
	}
	return root
}

func removeNode[T any](root, n *node[T]) *node[T] {
	switch {
	case root == nil:
		panic("allocator: sorter node not found") // a key changed in place
	case root == n:
		return mergeNodes(n.left, n.right)
	case n.key.less(root.key):
		root.left = removeNode(root.left, n)
	default:
		root.right = removeNode(root.right, n)
	}
	return root
}

// mergeNodes joins two treaps whose keys are all lower in l than in r.
func mergeNodes[T any](l, r *node[T]) *node[T] {
	switch {
	case l == nil:
		return r
	case r == nil:
		return l
	case l.prio > r.prio:
		l.right = mergeNodes(l.right, r)
		return l
	}
	r.left = mergeNodes(l, r.left)
	return r
}

func rotateRight[T any](n *node[T]) *node[T] {
	l := n.left
	n.left, l.right = l.right, n
	return l
}

func rotateLeft[T any](n *node[T]) *node[T] {
	r := n.right
	n.right, r.left = r.left, n
	return r
}
