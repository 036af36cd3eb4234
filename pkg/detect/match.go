package detect

import "bytes"

// recursionLimit bounds the backtracking steps spent on one chain, as
// Suricata's inspection-recursion-limit does.
const recursionLimit = 3000

// chainCtx matches one chain against one buffer. minEnd > 0 demands that
// some positive step ends after minEnd-1 (inside the new stream data).
type chainCtx struct {
	buf    []byte
	minEnd int
	budget int
}

// matchChain reports whether every step of c matches buf.
func matchChain(c *chain, buf []byte, minEnd int) bool {
	x := chainCtx{buf: buf, minEnd: minEnd, budget: recursionLimit}
	return x.step(c.items, 0, 0, 0)
}

func (x *chainCtx) step(items []item, i, prev, maxEnd int) bool {
	if i == len(items) {
		return maxEnd >= x.minEnd
	}
	if x.budget--; x.budget < 0 {
		return false
	}
	it := &items[i]
	if it.test != 0 {
		if x.test(it, prev) == it.neg {
			return false
		}
		return x.step(items, i+1, prev, maxEnd)
	}
	lo, hi := window(it, prev, len(x.buf))
	if it.isPCRE {
		return x.pcre(items, i, lo, hi, maxEnd)
	}
	if it.neg {
		if lo <= hi && find(it, x.buf, lo, hi) >= 0 {
			return false
		}
		return x.step(items, i+1, prev, maxEnd)
	}
	again := it.backtrack || maxEnd < x.minEnd
	for lo <= hi {
		pos := find(it, x.buf, lo, hi)
		if pos < 0 {
			return false
		}
		end := pos + len(it.pat)
		if x.step(items, i+1, end, max(maxEnd, end)) {
			return true
		}
		if !again {
			return false
		}
		lo = pos + 1
	}
	return false
}

func (x *chainCtx) pcre(items []item, i, lo, hi, maxEnd int) bool {
	it := &items[i]
	if lo > hi {
		return it.neg && x.step(items, i+1, lo, maxEnd)
	}
	loc := it.re.FindIndex(x.buf[lo:hi])
	if it.neg {
		if loc != nil {
			return false
		}
		return x.step(items, i+1, lo, maxEnd)
	}
	if loc == nil {
		return false
	}
	end := lo + loc[1]
	return x.step(items, i+1, end, max(maxEnd, end))
}

// test evaluates an isdataat or size step (before negation).
func (x *chainCtx) test(it *item, prev int) bool {
	if it.test == 's' {
		return it.size.match(len(x.buf))
	}
	at := it.offset
	if it.relative {
		at += prev
	}
	return at < len(x.buf)
}

// window returns the range [lo, hi) in which step it may match, given the
// end of the previous match.
func window(it *item, prev, n int) (lo, hi int) {
	hi = n
	if it.relative {
		if it.hasDistance {
			lo = prev + it.distance
		} else {
			lo = prev
		}
		if it.hasWithin {
			hi = min(hi, prev+it.distance+it.within)
		}
		lo = max(lo, 0)
	}
	if it.hasOffset {
		lo = max(lo, it.offset)
	}
	if it.hasDepth {
		hi = min(hi, it.offset+it.depth)
	}
	return lo, hi
}

// find returns the first start of it.pat inside buf[lo:hi] at or after lo,
// honouring endswith, or -1.
func find(it *item, buf []byte, lo, hi int) int {
	n := len(it.pat)
	if hi-lo < n {
		return -1
	}
	if it.endswith {
		if hi != len(buf) {
			return -1
		}
		pos := hi - n
		if equalAt(it, buf[pos:hi]) {
			return pos
		}
		return -1
	}
	if !it.nocase {
		p := bytes.Index(buf[lo:hi], it.pat)
		if p < 0 {
			return -1
		}
		return lo + p
	}
	return indexFold(buf[lo:hi], it.low, lo)
}

func equalAt(it *item, b []byte) bool {
	if !it.nocase {
		return bytes.Equal(b, it.pat)
	}
	for i, c := range b {
		if foldTab[c] != it.low[i] {
			return false
		}
	}
	return true
}

// indexFold finds low (already folded) in b ignoring ASCII case; base is
// added to the result.
func indexFold(b, low []byte, base int) int {
	first := low[0]
	alt := first
	if first >= 'a' && first <= 'z' {
		alt = first - 32
	}
	for i := 0; i+len(low) <= len(b); {
		j := indexEither(b[i:len(b)-len(low)+1], first, alt)
		if j < 0 {
			return -1
		}
		i += j
		ok := true
		for k := 1; k < len(low); k++ {
			if foldTab[b[i+k]] != low[k] {
				ok = false
				break
			}
		}
		if ok {
			return base + i
		}
		i++
	}
	return -1
}

func indexEither(b []byte, x, y byte) int {
	if x == y {
		return bytes.IndexByte(b, x)
	}
	for i, c := range b {
		if c == x || c == y {
			return i
		}
	}
	return -1
}
