package av

import "math"

type result uint8

const (
	noMatch  result = iota
	matched         // the elements match
	needMore        // not decided: the bytes needed have not arrived yet
)

// verifyBudget bounds the backtracking steps of one verification, so a
// signature with many ranged gaps cannot be made to cost quadratic time.
const verifyBudget = 1 << 16

// matcher checks a list of elements against a window of object bytes, going
// forward from a position (right of an anchor) or backward (left of it).
// Positions are boundaries between bytes of d.
type matcher struct {
	d      []byte
	back   bool
	final  bool // no more bytes will come: running out is a mismatch
	lo, hi int  // accepted final positions
	budget int
}

func newMatcher(d []byte, back, final bool) *matcher {
	return &matcher{d: d, back: back, final: final, lo: math.MinInt, hi: math.MaxInt,
		budget: verifyBudget}
}

// run matches es from position p and returns the end position (the start,
// going backward), preferring the shortest gaps.
func (m *matcher) run(es []elem, p int) (int, result) {
	for len(es) > 0 && es[0].kind == elByte {
		c, r := m.read(p)
		if r != matched {
			return 0, r
		}
		if c&es[0].mask != es[0].val {
			return 0, noMatch
		}
		p, es = m.adv(p, 1), es[1:]
	}
	m.budget--
	if m.budget < 0 || (m.back && p < m.lo) {
		return 0, noMatch
	}
	if len(es) == 0 {
		if p < m.lo || p > m.hi {
			return 0, noMatch
		}
		return p, matched
	}
	if es[0].kind == elGap {
		return m.gap(es, p)
	}
	return m.alt(es, p)
}

func (m *matcher) gap(es []elem, p int) (int, result) {
	e, best := es[0], noMatch
	for g := int(e.min); g <= int(e.max); g++ {
		q := m.adv(p, g)
		if q < 0 {
			return 0, best
		}
		if q > len(m.d) {
			if m.final {
				return 0, best
			}
			return 0, needMore
		}
		end, r := m.run(es[1:], q)
		if r == matched {
			return end, r
		}
		if r == needMore {
			best = needMore
		}
	}
	return 0, best
}

func (m *matcher) alt(es []elem, p int) (int, result) {
	best := noMatch
	for _, a := range es[0].alts {
		r := m.equal(p, a)
		if r == matched {
			var end int
			end, r = m.run(es[1:], m.adv(p, len(a)))
			if r == matched {
				return end, r
			}
		}
		if r == needMore {
			best = needMore
		}
	}
	return 0, best
}

func (m *matcher) equal(p int, a []byte) result {
	for k, want := range a {
		c, r := m.read(m.adv(p, k))
		if r != matched {
			return r
		}
		if c != want {
			return noMatch
		}
	}
	return matched
}

func (m *matcher) adv(p, n int) int {
	if m.back {
		return p - n
	}
	return p + n
}

// read returns the byte consumed when stepping from p.
func (m *matcher) read(p int) (byte, result) {
	if m.back {
		if p <= 0 || p > len(m.d) {
			return 0, noMatch
		}
		return m.d[p-1], matched
	}
	if p < 0 {
		return 0, noMatch
	}
	if p >= len(m.d) {
		if m.final {
			return 0, noMatch
		}
		return 0, needMore
	}
	return m.d[p], matched
}
