package detect

import "sort"

// acMaxDense bounds the dense transition table (states x byte classes).
const acMaxDense = 1 << 22

// ahoCorasick finds every pattern occurrence in one pass over a buffer,
// ignoring ASCII case. Patterns must be given already folded.
//
// It keeps a sparse trie with failure links and, when the table fits in
// acMaxDense entries, a dense DFA over byte classes for the hot loop.
type ahoCorasick struct {
	// sparse form
	edgeStart []int32 // per state, index into edgeByte/edgeTo (len states+1)
	edgeByte  []byte
	edgeTo    []int32
	fail      []int32
	order     []int32 // states breadth first
	root      [256]int32
	// dense form (nil when too large)
	class  [256]uint8
	nclass int
	delta  []int32
	// rootStay marks the bytes that lead from the root back to it
	rootStay [256]bool
	// outputs: pattern ids ending at each state, failure chain included
	outStart []int32
	outs     []int32
	// the same by breadth-first rank, the dense form's state numbering
	rankOutStart []int32
	rankOuts     []int32
}

type acNode struct {
	next map[byte]int32
	out  []int32
}

func newAhoCorasick(pats [][]byte) *ahoCorasick {
	nodes := []acNode{{next: map[byte]int32{}}}
	for id, p := range pats {
		s := int32(0)
		for _, c := range p {
			c = foldTab[c]
			n, ok := nodes[s].next[c]
			if !ok {
				n = int32(len(nodes))
				nodes = append(nodes, acNode{next: map[byte]int32{}})
				nodes[s].next[c] = n
			}
			s = n
		}
		nodes[s].out = append(nodes[s].out, int32(id))
	}
	a := &ahoCorasick{}
	a.flatten(nodes)
	a.links(nodes)
	a.densify()
	a.order = nil
	return a
}

func (a *ahoCorasick) flatten(nodes []acNode) {
	a.edgeStart = make([]int32, len(nodes)+1)
	for i, n := range nodes {
		keys := make([]int, 0, len(n.next))
		for c := range n.next {
			keys = append(keys, int(c))
		}
		sort.Ints(keys)
		for _, c := range keys {
			a.edgeByte = append(a.edgeByte, byte(c))
			a.edgeTo = append(a.edgeTo, n.next[byte(c)])
		}
		a.edgeStart[i+1] = int32(len(a.edgeByte))
	}
	for c := range a.root {
		a.root[c] = a.child(0, byte(c)) // -1 becomes 0 below
		if a.root[c] < 0 {
			a.root[c] = 0
		}
	}
}

func (a *ahoCorasick) child(s int32, c byte) int32 {
	lo, hi := a.edgeStart[s], a.edgeStart[s+1]
	for lo < hi {
		m := (lo + hi) / 2
		switch b := a.edgeByte[m]; {
		case b == c:
			return a.edgeTo[m]
		case b < c:
			lo = m + 1
		default:
			hi = m
		}
	}
	return -1
}

// links computes failure links breadth first and merges outputs along them.
func (a *ahoCorasick) links(nodes []acNode) {
	n := len(nodes)
	a.fail = make([]int32, n)
	order := make([]int32, 0, n)
	order = append(order, 0)
	for q := 0; q < len(order); q++ {
		s := order[q]
		for e := a.edgeStart[s]; e < a.edgeStart[s+1]; e++ {
			c, t := a.edgeByte[e], a.edgeTo[e]
			if s != 0 {
				a.fail[t] = a.next(a.fail[s], c)
			}
			order = append(order, t)
		}
	}
	a.order = order
	outs := make([][]int32, n)
	for _, s := range order {
		outs[s] = append(append([]int32(nil), nodes[s].out...), outs[a.fail[s]]...)
		if s == 0 {
			outs[s] = nodes[0].out
		}
	}
	a.outStart = make([]int32, n+1)
	for s := range outs {
		a.outs = append(a.outs, outs[s]...)
		a.outStart[s+1] = int32(len(a.outs))
	}
}

// next is the sparse transition with failure fallback.
func (a *ahoCorasick) next(s int32, c byte) int32 {
	for s != 0 {
		if t := a.child(s, c); t >= 0 {
			return t
		}
		s = a.fail[s]
	}
	return a.root[c]
}

func (a *ahoCorasick) densify() {
	var used [256]bool
	for _, c := range a.edgeByte {
		used[c] = true
	}
	a.nclass = 1
	for c := 0; c < 256; c++ {
		if used[foldTab[c]] {
			if a.class[foldTab[c]] == 0 {
				a.class[foldTab[c]] = uint8(a.nclass)
				a.nclass++
			}
			a.class[c] = a.class[foldTab[c]]
		}
	}
	states := len(a.fail)
	if a.nclass > 255 || states*a.nclass > acMaxDense || states*a.nclass >= acOut {
		return
	}
	rep := make([]byte, a.nclass) // one byte standing for each class
	for c := 255; c >= 0; c-- {
		rep[a.class[c]] = byte(c)
	}
	// Entries hold the next state's row offset, with acOut set when that
	// state reports patterns, so the hot loop needs no multiply or lookup.
	// Rows are in breadth-first order, so the shallow states most bytes
	// lead to share a few cache lines, and filled in that order: a
	// state's row is its failure state's row with its own edges written
	// over it.
	nc := a.nclass
	rank := make([]int32, states)
	for r, s := range a.order {
		rank[s] = int32(r)
	}
	a.delta = make([]int32, states*nc)
	enc := func(t int32) int32 {
		v := rank[t] * int32(nc)
		if a.outStart[t] != a.outStart[t+1] {
			v |= acOut
		}
		return v
	}
	for k := 0; k < nc; k++ {
		a.delta[k] = enc(a.root[foldTab[rep[k]]])
	}
	for _, s := range a.order[1:] {
		r, f := int(rank[s]), int(rank[a.fail[s]])
		row := a.delta[r*nc : (r+1)*nc]
		copy(row, a.delta[f*nc:(f+1)*nc])
		for e := a.edgeStart[s]; e < a.edgeStart[s+1]; e++ {
			row[a.class[a.edgeByte[e]]] = enc(a.edgeTo[e])
		}
	}
	for c := range a.rootStay {
		a.rootStay[c] = a.delta[a.class[c]] == 0
	}
	// outputs by rank for the dense loop
	a.rankOutStart = make([]int32, states+1)
	a.rankOuts = make([]int32, 0, len(a.outs))
	for r, s := range a.order {
		a.rankOuts = append(a.rankOuts, a.outs[a.outStart[s]:a.outStart[s+1]]...)
		a.rankOutStart[r+1] = int32(len(a.rankOuts))
	}
}

const acOut = 1 << 30

// scan calls hit with the id of every pattern occurrence in buf (an id may
// be reported more than once).
func (a *ahoCorasick) scan(buf []byte, hit func(id int32)) {
	a.scanPos(buf, func(id int32, _ int) { hit(id) })
}

// scanPos is scan that also tells the index in buf of the occurrence's
// last byte.
func (a *ahoCorasick) scanPos(buf []byte, hit func(id int32, last int)) {
	if a.delta != nil {
		a.scanDense(buf, hit)
		return
	}
	s := int32(0)
	for i, c := range buf {
		s = a.next(s, foldTab[c])
		for o := a.outStart[s]; o < a.outStart[s+1]; o++ {
			hit(a.outs[o], i)
		}
	}
}

func (a *ahoCorasick) scanDense(buf []byte, hit func(id int32, last int)) {
	row, d, cls, stay := int32(0), a.delta, &a.class, &a.rootStay
	for i := 0; i < len(buf); i++ {
		if row == 0 {
			// bytes that start no pattern keep the root: skip them
			// without the dependent table load
			for i < len(buf) && stay[buf[i]] {
				i++
			}
			if i == len(buf) {
				return
			}
		}
		v := d[row+int32(cls[buf[i]])]
		row = v &^ acOut
		if v&acOut != 0 {
			s := row / int32(a.nclass)
			for o := a.rankOutStart[s]; o < a.rankOutStart[s+1]; o++ {
				hit(a.rankOuts[o], i)
			}
		}
	}
}
