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
// added to the result. It looks for one byte of low with bytes.IndexByte
// (a caseless byte when low has one, so one scan suffices) and compares
// the rest at each place it is found.
func indexFold(b, low []byte, base int) int {
	last := len(b) - len(low) // last possible start
	if last < 0 {
		return -1
	}
	k := anchor(low)
	x := low[k]
	y := x
	if x >= 'a' && x <= 'z' {
		y = x - 32
	}
	// anchors of starts 0..last sit in b[k : last+k+1]
	fx := byteFinder{b: b[:last+k+1], c: x, next: -1}
	fy := byteFinder{b: fx.b, c: y, next: -1}
	for i := k; i <= last+k; i++ {
		j := fx.from(i)
		if x != y {
			j = min(j, fy.from(i))
		}
		i = j
		if i > last+k {
			return -1
		}
		if foldEqual(b[i-k:i-k+len(low)], low) {
			return base + i - k
		}
	}
	return -1
}

// anchor returns the index of the first byte of low that has no other
// case, or 0 when every byte is a letter.
func anchor(low []byte) int {
	for i, c := range low {
		if c < 'a' || c > 'z' {
			return i
		}
	}
	return 0
}

func foldEqual(b, low []byte) bool {
	for i, c := range b {
		if foldTab[c] != low[i] {
			return false
		}
	}
	return true
}

// byteFinder yields the positions of one byte in b in increasing order,
// scanning each byte of b at most once.
type byteFinder struct {
	b    []byte
	c    byte
	next int // last found position, len(b) when there is no more
}

// from returns the first position at or after i holding the byte, or
// len(b).
func (f *byteFinder) from(i int) int {
	if f.next >= i {
		return f.next
	}
	f.next = len(f.b)
	if j := bytes.IndexByte(f.b[i:], f.c); j >= 0 {
		f.next = i + j
	}
	return f.next
}
