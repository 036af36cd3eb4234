package av

import "slices"

// automaton is an Aho-Corasick matcher over the anchors of all body
// signatures. Shallow and busy nodes get a dense 256-entry table holding
// the full transition function (failures resolved); the others keep a
// short sorted list of children and fall back along failure links. Random
// traffic spends nearly all its time in the dense nodes, so the cost per
// byte stays flat as the number of anchors grows while memory stays near
// a few bytes per anchor byte.
//
// The scan loop works on state codes, not node numbers: a code holds the
// dense table row (or, for a sparse node, the node number) shifted left by
// two, and two flag bits, so a dense step is one table load and the flags
// of the state reached need no second load.
type automaton struct {
	hot    []acHot  // sparse nodes as the scan loop reads them, 12 bytes a node
	nodes  []acNode // build-time view, dropped once built
	out    []int32  // anchor id ending at each node, or -1
	dict   []int32  // next node with an anchor on the failure chain, or -1
	keys   []byte   // children bytes of sparse nodes, sorted per node
	next   []int32  // children targets (codes once built), parallel to keys
	tables []int32  // dense tables, 256 entries each (codes once built)
	rows   []int32  // node of each dense table
}

type acNode struct {
	fail  int32
	dense int32 // index of the node's dense table, or -1
	kbeg  int32 // first child in keys/next
	klen  int32
	out   int32 // anchor id ending here, or -1
	dict  int32 // nearest node on the failure chain with an anchor, or -1
}

// acHot is the part of a sparse node the scan loop touches, kept small so
// the shallow nodes of a large automaton fit in cache.
type acHot struct {
	fail int32 // code of the failure target
	ref  int32 // one child: its code; else first child in keys/next
	klen uint16
	key  byte // the byte of a single child, kept inline to save a miss
}

// Flag bits of a state code.
const (
	codeSparse = 1 << iota // the rest of the code is a node, not a table row
	codeOut                // an anchor ends here or on the failure chain
	codeShift  = 2
)

// denseFanout is the child count from which a node gets a dense table.
const denseFanout = 16

// buildAutomaton builds the matcher; anchors[i] is reported as id i.
// Identical anchors must have been merged by the caller. One map keyed by
// (parent, byte) builds the trie and sorting the edges groups each node's
// children, so no node has a map of its own. Nodes are then renumbered in
// breadth-first order: the shallow nodes, which random traffic visits on
// nearly every byte, sit together in memory and stay in cache even with
// 100,000 anchors.
func buildAutomaton(anchors [][]byte) *automaton {
	t := newTrie(anchors)
	order := t.bfs()
	renum := make([]int32, len(order))
	for i, o := range order {
		renum[o] = int32(i)
	}
	a := &automaton{nodes: make([]acNode, len(order)),
		keys: make([]byte, 0, len(t.keys)), next: make([]int32, 0, len(t.keys))}
	for i, o := range order {
		an := &a.nodes[i]
		an.out, an.dict, an.dense = t.outs[o], -1, -1
		an.kbeg, an.klen = int32(len(a.keys)), t.klen[o]
		for k := t.kbeg[o]; k < t.kbeg[o]+t.klen[o]; k++ {
			a.keys = append(a.keys, t.keys[k])
			a.next = append(a.next, renum[t.next[k]])
		}
		if t.depth[o] <= 1 || an.klen >= denseFanout {
			an.dense = int32(len(a.rows))
			a.rows = append(a.rows, int32(i))
			a.tables = append(a.tables, make([]int32, 256)...)
		}
	}
	a.link()
	a.out, a.dict = make([]int32, len(a.nodes)), make([]int32, len(a.nodes))
	for i, n := range a.nodes {
		a.out[i], a.dict[i] = n.out, n.dict
	}
	a.encode()
	a.nodes = nil
	return a
}

// code is the scan loop's name for node n.
func (a *automaton) code(n int32) int32 {
	an := &a.nodes[n]
	c := n<<codeShift | codeSparse
	if an.dense >= 0 {
		c = an.dense << codeShift
	}
	if an.out >= 0 || an.dict >= 0 {
		c |= codeOut
	}
	return c
}

// encode turns every transition target into a state code and fills the
// scan loop's view of the sparse nodes.
func (a *automaton) encode() {
	for k, t := range a.tables {
		a.tables[k] = a.code(t)
	}
	for k, t := range a.next {
		a.next[k] = a.code(t)
	}
	a.hot = make([]acHot, len(a.nodes))
	for i, n := range a.nodes {
		h := &a.hot[i]
		h.fail, h.ref, h.klen = a.code(n.fail), n.kbeg, uint16(n.klen)
		if n.klen == 1 {
			h.ref, h.key = a.next[n.kbeg], a.keys[n.kbeg]
		}
	}
}

// trie is the goto graph in insertion numbering, children grouped by node.
type trie struct {
	outs, depth, kbeg, klen []int32
	keys                    []byte
	next                    []int32
}

func newTrie(anchors [][]byte) *trie {
	edges := map[uint64]int32{}
	var list []uint64 // parent<<8 | byte, one per edge
	t := &trie{outs: []int32{-1}, depth: []int32{0}}
	for id, an := range anchors {
		n := int32(0)
		for _, c := range an {
			key := uint64(n)<<8 | uint64(c)
			child, ok := edges[key]
			if !ok {
				child = int32(len(t.outs))
				edges[key] = child
				list = append(list, key)
				t.outs, t.depth = append(t.outs, -1), append(t.depth, t.depth[n]+1)
			}
			n = child
		}
		t.outs[n] = int32(id)
	}
	slices.Sort(list)
	t.kbeg, t.klen = make([]int32, len(t.outs)), make([]int32, len(t.outs))
	t.keys, t.next = make([]byte, len(list)), make([]int32, len(list))
	for k, key := range list {
		p := key >> 8
		if t.klen[p] == 0 {
			t.kbeg[p] = int32(k)
		}
		t.klen[p]++
		t.keys[k], t.next[k] = byte(key), edges[key]
	}
	return t
}

// bfs returns the nodes in breadth-first order.
func (t *trie) bfs() []int32 {
	order := make([]int32, 1, len(t.outs))
	for k := 0; k < len(order); k++ {
		n := order[k]
		order = append(order, t.next[t.kbeg[n]:t.kbeg[n]+t.klen[n]]...)
	}
	return order
}

// link sets failure and dictionary links and fills the dense tables, in
// breadth-first order (the node numbering) so every failure target is
// complete before use.
func (a *automaton) link() {
	for n := range int32(len(a.nodes)) {
		an := &a.nodes[n]
		for k := an.kbeg; k < an.kbeg+an.klen; k++ {
			c, t := a.keys[k], a.next[k]
			f := int32(0)
			if n != 0 {
				f = a.step(an.fail, c)
			}
			a.nodes[t].fail = f
			if a.nodes[f].out >= 0 {
				a.nodes[t].dict = f
			} else {
				a.nodes[t].dict = a.nodes[f].dict
			}
		}
		if an.dense < 0 {
			continue
		}
		tab := a.tables[an.dense*256 : an.dense*256+256]
		for c := range tab {
			if t := a.listChild(an.kbeg, an.klen, byte(c)); t >= 0 {
				tab[c] = t
			} else if n != 0 {
				tab[c] = a.step(an.fail, byte(c))
			}
		}
	}
}

func (a *automaton) listChild(beg, n int32, c byte) int32 {
	for k, kc := range a.keys[beg : beg+n] {
		if kc == c {
			return a.next[beg+int32(k)]
		}
		if kc > c {
			break
		}
	}
	return -1
}

// step is the full transition function from node n on byte c, at build
// time (node numbers, not codes).
func (a *automaton) step(n int32, c byte) int32 {
	for {
		an := &a.nodes[n]
		if an.dense >= 0 {
			return a.tables[int(an.dense)<<8|int(c)]
		}
		if t := a.listChild(an.kbeg, an.klen, c); t >= 0 {
			return t
		}
		n = an.fail
	}
}

// scan runs p through the automaton from state s (0 is the start), calling
// hit with the anchor id and the index just past its last byte, and
// returns the state.
func (a *automaton) scan(s int32, p []byte, hit func(id int32, end int)) int32 {
	tables := a.tables
	for i, c := range p {
		if s&codeSparse == 0 {
			s = tables[int(s>>codeShift)<<8|int(c)]
		} else {
			s = a.sparseStep(s>>codeShift, c)
		}
		if s&codeOut != 0 {
			a.report(s, i+1, hit)
		}
	}
	return s
}

// sparseStep is the transition from sparse node n on byte c, as a code.
func (a *automaton) sparseStep(n int32, c byte) int32 {
	for {
		h := &a.hot[n]
		if h.klen == 1 {
			if h.key == c {
				return h.ref
			}
		} else if t := a.listChild(h.ref, int32(h.klen), c); t >= 0 {
			return t
		}
		if h.fail&codeSparse == 0 {
			return a.tables[int(h.fail>>codeShift)<<8|int(c)]
		}
		n = h.fail >> codeShift
	}
}

func (a *automaton) report(code int32, end int, hit func(id int32, end int)) {
	s := code >> codeShift
	if code&codeSparse == 0 {
		s = a.rows[s]
	}
	if a.out[s] < 0 {
		s = a.dict[s]
	}
	for s >= 0 {
		hit(a.out[s], end)
		s = a.dict[s]
	}
}
