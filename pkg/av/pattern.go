package av

import (
	"slices"
	"strconv"
	"strings"
)

// Limits on one body signature. A part longer than maxPartLen would force
// every stream to keep a larger tail window, so such signatures are skipped.
const (
	maxPartLen   = 64 << 10 // bytes one part can span, gaps included
	maxAnchorLen = 16       // longest anchor put into the automaton
	minAnchorLen = 2        // shortest fixed run a part can be found by
)

type elemKind uint8

const (
	elByte elemKind = iota // one byte under a mask (0xff exact, 0x00 any)
	elGap                  // min..max arbitrary bytes (bounded)
	elAlt                  // one of several fixed byte strings
)

// elem is one step of a signature part.
type elem struct {
	kind      elemKind
	val, mask byte
	min, max  int32
	alts      [][]byte
}

func (e elem) minLen() int { return e.lens(false) }
func (e elem) maxLen() int { return e.lens(true) }

func (e elem) lens(longest bool) int {
	switch e.kind {
	case elGap:
		if longest {
			return int(e.max)
		}
		return int(e.min)
	case elAlt:
		n := len(e.alts[0])
		for _, a := range e.alts[1:] {
			if (longest && len(a) > n) || (!longest && len(a) < n) {
				n = len(a)
			}
		}
		return n
	}
	return 1
}

// part is a run of elements with bounded length. Parts of one signature are
// separated by "*" or "{n-}" and must match in order without overlapping.
type part struct {
	minGap   int    // least bytes between the previous part's end and this start
	left     []elem // elements before the anchor, in reverse order
	anchor   []byte // fixed bytes searched by the automaton
	right    []elem // elements after the anchor
	all      []elem // the whole part, forward (used for EOF-anchored checks)
	maxLeft  int
	maxRight int
}

func (p *part) span() int { return p.maxLeft + len(p.anchor) + p.maxRight }

// token is one lexical item of a hex signature: an element, or a split.
type token struct {
	e      elem
	split  bool // "*" or "{n-}": an unbounded gap
	splitN int  // the n of "{n-}"
}

// parseHexSig parses a ClamAV body signature into its parts.
func parseHexSig(s string) ([]part, error) {
	if s == "" {
		return nil, malformed("empty hex signature")
	}
	toks, err := lexHexSig(s)
	if err != nil {
		return nil, err
	}
	if toks[0].split || toks[len(toks)-1].split {
		return nil, malformed("hex signature %q begins or ends with an unbounded gap", s)
	}
	var parts []part
	var cur []elem
	gap := 0
	for _, t := range toks {
		if !t.split {
			cur = append(cur, t.e)
			continue
		}
		p, err := makePart(cur, gap, len(parts))
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
		cur, gap = nil, t.splitN
	}
	p, err := makePart(cur, gap, len(parts))
	if err != nil {
		return nil, err
	}
	return append(parts, p), nil
}

// lexHexSig turns the text into tokens, merging adjacent gaps.
func lexHexSig(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		t, n, err := lexOne(s, i)
		if err != nil {
			return nil, err
		}
		toks = appendToken(toks, t)
		i += n
	}
	return toks, nil
}

func appendToken(toks []token, t token) []token {
	if len(toks) == 0 {
		return append(toks, t)
	}
	last := &toks[len(toks)-1]
	switch {
	case t.split && last.split:
		last.splitN += t.splitN
	case t.split && last.e.kind == elGap && !last.split:
		last.split, last.splitN = true, int(last.e.min)+t.splitN
	case t.e.kind == elGap && !t.split && last.split:
		last.splitN += int(t.e.min)
	case t.e.kind == elGap && !t.split && last.e.kind == elGap && !last.split:
		// clamped past the limit, so the part is refused, never wrapped
		last.e.min = min(last.e.min+t.e.min, maxPartLen+1)
		last.e.max = min(last.e.max+t.e.max, maxPartLen+1)
	default:
		return append(toks, t)
	}
	return toks
}

// lexOne reads the token at s[i:] and returns it with its length.
func lexOne(s string, i int) (token, int, error) {
	switch s[i] {
	case '*':
		return token{split: true}, 1, nil
	case '{':
		return lexBrace(s, i)
	case '(':
		return lexAlt(s, i)
	case '!', '[', ')', '|', '}', ']':
		return token{}, 0, unsupported("hex signature construct %q at column %d",
			s[i:i+1], i+1)
	}
	if i+1 >= len(s) {
		return token{}, 0, malformed("odd number of hex digits at column %d", i+1)
	}
	e, err := lexByte(s[i:i+2], i)
	return token{e: e}, 2, err
}

func lexByte(h string, col int) (elem, error) {
	hi, okh := nibble(h[0])
	lo, okl := nibble(h[1])
	switch {
	case h == "??":
		return elem{kind: elByte}, nil
	case okh && okl:
		return elem{kind: elByte, val: hi<<4 | lo, mask: 0xff}, nil
	case okh && h[1] == '?':
		return elem{kind: elByte, val: hi << 4, mask: 0xf0}, nil
	case h[0] == '?' && okl:
		return elem{kind: elByte, val: lo, mask: 0x0f}, nil
	}
	return elem{}, malformed("bad hex byte %q at column %d", h, col+1)
}

func nibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// lexBrace reads {n}, {n-m}, {-m} and {n-}.
func lexBrace(s string, i int) (token, int, error) {
	end := strings.IndexByte(s[i:], '}')
	if end < 0 {
		return token{}, 0, malformed("unclosed \"{\" at column %d", i+1)
	}
	body := s[i+1 : i+end]
	lo, hi, found := strings.Cut(body, "-")
	if !found {
		hi = lo
	}
	min, err1 := atoiOr(lo, 0)
	max, err2 := atoiOr(hi, -1)
	if err1 != nil || err2 != nil || (!found && lo == "") {
		return token{}, 0, malformed("bad gap %q at column %d", "{"+body+"}", i+1)
	}
	if max == -1 {
		return token{split: true, splitN: min}, end + 1, nil
	}
	if max < min || max > maxPartLen {
		return token{}, 0, malformed("bad gap %q at column %d", "{"+body+"}", i+1)
	}
	return token{e: elem{kind: elGap, min: int32(min), max: int32(max)}}, end + 1, nil
}

func atoiOr(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 1<<30 {
		return 0, malformed("bad number %q", s)
	}
	return n, nil
}

// lexAlt reads (aa|bbcc|dd): alternatives of fixed hex strings.
func lexAlt(s string, i int) (token, int, error) {
	end := strings.IndexByte(s[i:], ')')
	if end < 0 {
		return token{}, 0, malformed("unclosed \"(\" at column %d", i+1)
	}
	body := s[i+1 : i+end]
	var alts [][]byte
	for _, a := range strings.Split(body, "|") {
		b, ok := fixedHex(a)
		if !ok {
			return token{}, 0, unsupported("alternative %q at column %d "+
				"(only fixed, non-empty hex strings)", a, i+1)
		}
		alts = append(alts, b)
	}
	if len(alts) < 2 {
		return token{}, 0, unsupported("construct %q at column %d", "("+body+")", i+1)
	}
	return token{e: elem{kind: elAlt, alts: alts}}, end + 1, nil
}

func fixedHex(a string) ([]byte, bool) {
	if a == "" || len(a)%2 != 0 {
		return nil, false
	}
	b := make([]byte, len(a)/2)
	for k := range b {
		hi, ok1 := nibble(a[2*k])
		lo, ok2 := nibble(a[2*k+1])
		if !ok1 || !ok2 {
			return nil, false
		}
		b[k] = hi<<4 | lo
	}
	return b, true
}

// makePart picks the anchor of one part (the first longest run of exact
// bytes, cut to maxAnchorLen) and splits the elements around it.
func makePart(es []elem, gap, idx int) (part, error) {
	if len(es) == 0 {
		return part{}, malformed("empty part %d", idx+1)
	}
	bestAt, bestLen := longestRun(es)
	if bestLen < minAnchorLen {
		return part{}, unsupported("part %d has no run of %d fixed bytes to anchor on",
			idx+1, minAnchorLen)
	}
	bestLen = min(bestLen, maxAnchorLen)
	p := part{minGap: gap, all: joinRuns(es)}
	for _, e := range es[bestAt : bestAt+bestLen] {
		p.anchor = append(p.anchor, e.val)
	}
	left := joinRuns(es[:bestAt])
	for k := len(left) - 1; k >= 0; k-- {
		p.left = append(p.left, reverseElem(left[k]))
		p.maxLeft += left[k].maxLen()
	}
	p.right = joinRuns(es[bestAt+bestLen:])
	for _, e := range p.right {
		p.maxRight += e.maxLen()
	}
	if p.span() > maxPartLen {
		return part{}, unsupported("part %d spans more than %d bytes", idx+1, maxPartLen)
	}
	return p, nil
}

// joinRuns turns each run of exact bytes into one single-choice
// alternative: fewer, smaller elements to keep and to step through.
func joinRuns(es []elem) []elem {
	var out []elem
	var run []byte
	for _, e := range es {
		if e.kind == elByte && e.mask == 0xff {
			run = append(run, e.val)
			continue
		}
		if run != nil {
			out, run = append(out, elem{kind: elAlt, alts: [][]byte{run}}), nil
		}
		out = append(out, e)
	}
	if run != nil {
		out = append(out, elem{kind: elAlt, alts: [][]byte{run}})
	}
	return slices.Clip(out)
}

func longestRun(es []elem) (at, n int) {
	run := 0
	for k, e := range es {
		if e.kind == elByte && e.mask == 0xff {
			run++
			if run > n {
				at, n = k-run+1, run
			}
			continue
		}
		run = 0
	}
	return at, n
}

func reverseElem(e elem) elem {
	if e.kind != elAlt {
		return e
	}
	r := elem{kind: elAlt}
	for _, a := range e.alts {
		b := make([]byte, len(a))
		for k := range a {
			b[len(a)-1-k] = a[k]
		}
		r.alts = append(r.alts, b)
	}
	return r
}
