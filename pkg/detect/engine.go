package detect

import (
	"bytes"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Options tune an Engine.
type Options struct {
	// Now is the clock for thresholds when an Input carries no Time.
	// Nil means time.Now.
	Now func() time.Time
	// MaxTrackers bounds the by_src/by_dst/by_both/by_rule threshold
	// entries kept across flows (default 65536).
	MaxTrackers int
}

// Input is one TCP packet as seen by detection.
type Input struct {
	// Flow is the flow's detection state; nil gives a fresh state for
	// this packet only (no flowbits, HTTP or by_flow memory).
	Flow        *FlowState
	Src, Dst    netip.AddrPort // of this packet
	ToServer    bool           // direction relative to the flow initiator
	Established bool           // 3-way handshake seen (or midstream pickup)
	Flags       uint8          // TCP flags of this packet
	Payload     []byte         // this packet's TCP payload
	// Stream is the reassembled in-order data of this direction ending with
	// this packet's new data, with some earlier context; nil when the
	// caller does not reassemble.
	Stream []byte
	// NewData is how many trailing bytes of Stream are new; stream matches
	// must end inside them so a pattern alerts once. When it is 0 (data
	// outside the stream: a retransmission, data on a SYN the stream did not
	// take), stream rules inspect Payload instead, as Suricata does.
	NewData int
	// StreamEnd is the offset of the end of Stream in all the bytes this
	// direction has delivered, counted from the first; 0 when unknown.
	// Offsets must grow with the data for the life of Flow; given them,
	// the engine scans for some patterns only in the new bytes.
	StreamEnd uint64
	// Time is the packet's capture time, used for thresholds and alerts;
	// zero means Options.Now.
	Time time.Time
}

// Alert is one rule match that should be reported.
type Alert struct {
	Rule     *Rule
	Time     time.Time
	Src, Dst netip.AddrPort
	ToServer bool
	// HTTP is true when the alert belongs to an HTTP transaction: the rule
	// matched one, or the packet completed a request or response header
	// block (as Suricata attaches the transaction to such alerts).
	HTTP bool
}

// FlowState is the per-flow detection state: flowbits, HTTP parser and
// by_flow thresholds. The caller keeps one per flow (NewFlowState) and
// must not share it between goroutines.
type FlowState struct {
	bits []uint64
	http httpState
	thr  []flowThr
	memo [2]hitMemo // full prefilter hits: to server, to client
	// content prefilter hits of needed patterns (rawfilter.go), likewise
	rawMemo [2]hitMemo
}

// NewFlowState returns the state of a new flow.
func NewFlowState() *FlowState { return &FlowState{} }

// IsHTTP reports whether the flow has been recognised as HTTP.
func (fs *FlowState) IsHTTP() bool { return fs.http.seen }

func (fs *FlowState) bit(id int) bool {
	w := id / 64
	return w < len(fs.bits) && fs.bits[w]&(1<<(id%64)) != 0
}

func (fs *FlowState) setBit(id int, v bool) {
	w := id / 64
	for w >= len(fs.bits) {
		fs.bits = append(fs.bits, 0)
	}
	if v {
		fs.bits[w] |= 1 << (id % 64)
	} else {
		fs.bits[w] &^= 1 << (id % 64)
	}
}

// Engine matches a RuleSet. It is safe for concurrent use by goroutines
// that inspect different flows.
type Engine struct {
	rs    *RuleSet
	opt   Options
	raw   prefilter // raw rules by every positive content: one ends in new data
	full  prefilter // raw rules with a positive pcre, by fast pattern
	http  [numBufs]prefilter
	httpA []int32 // HTTP rules without an HTTP-buffer fast pattern
	// rawNeed is, per rule, the raw pattern id that must occur in the
	// stream window for the rule to match, or -1 (rawfilter.go);
	// rawTracked marks those ids and rawTrack says there are some.
	rawNeed    []int32
	rawTracked []bool
	rawTrack   bool
	thr        *tracker
	pool       sync.Pool
}

// prefilter maps fast patterns to rules; always lists rules without one.
type prefilter struct {
	ac     *ahoCorasick
	rules  [][]int32 // pattern id -> rule indexes
	plen   []int32   // pattern id -> length
	maxLen int
	always []int32
}

// scratch is per-call working memory, pooled so Inspect does not allocate.
type scratch struct {
	seen    []uint64
	present []uint64 // raw pattern ids seen in the stream window
	cand    []int32
	evs     []httpEvent
	alerts  []Alert
	flow    FlowState
}

// RuleSet returns the rules the engine matches.
func (e *Engine) RuleSet() *RuleSet { return e.rs }

// NewEngine builds the prefilters for rs.
func NewEngine(rs *RuleSet, opt Options) *Engine {
	if opt.MaxTrackers <= 0 {
		opt.MaxTrackers = 65536
	}
	e := &Engine{rs: rs, opt: opt, thr: newTracker(opt.MaxTrackers)}
	var rawPats, fullPats [][]byte
	var httpPats [numBufs][][]byte
	for _, r := range rs.Rules {
		i := int32(r.idx)
		switch {
		case r.bufMask&^1 == 0 && !r.fp.ok:
			e.raw.always = append(e.raw.always, i)
		case r.bufMask&^1 == 0 && !r.chains[0].posPCRE:
			for _, p := range r.chains[0].contentPatterns() {
				e.raw.rules = append(e.raw.rules, []int32{i})
				rawPats = append(rawPats, p)
			}
		case r.bufMask&^1 == 0:
			e.full.rules = append(e.full.rules, []int32{i})
			fullPats = append(fullPats, r.fp.pat)
		case !r.fp.ok || r.fp.buf == bufRaw:
			e.httpA = append(e.httpA, i)
		default:
			p := &e.http[r.fp.buf]
			p.rules = append(p.rules, []int32{i})
			httpPats[r.fp.buf] = append(httpPats[r.fp.buf], r.fp.pat)
		}
	}
	e.rawNeed, e.rawTracked = rawNeeds(rs, e.raw.build(rawPats))
	e.rawTrack = slices.Contains(e.rawTracked, true)
	e.full.build(fullPats)
	for k := range e.http {
		e.http[k].build(httpPats[k])
	}
	n, np := (len(rs.Rules)+63)/64, (len(e.rawTracked)+63)/64
	e.pool.New = func() any {
		return &scratch{seen: make([]uint64, n), present: make([]uint64, np)}
	}
	return e
}

// contentPatterns returns the prefilter form of every positive content:
// its last maxPrefilterLen bytes, so that a content ending in the new data
// has its prefilter pattern within the look-back before that data, however
// long the content is.
func (c *chain) contentPatterns() [][]byte {
	var out [][]byte
	for i := range c.items {
		if it := &c.items[i]; !it.isPCRE && !it.neg && it.test == 0 {
			out = append(out, it.low[max(len(it.low)-maxPrefilterLen, 0):])
		}
	}
	return out
}

// build merges identical patterns, compiles the automaton and returns the
// id of each pattern.
func (p *prefilter) build(pats [][]byte) map[string]int {
	if len(pats) == 0 {
		return nil
	}
	byPat := map[string]int{}
	var uniq [][]byte
	var rules [][]int32
	for i, pat := range pats {
		id, ok := byPat[string(pat)]
		if !ok {
			id = len(uniq)
			byPat[string(pat)] = id
			uniq = append(uniq, pat)
			rules = append(rules, nil)
		}
		if r := p.rules[i][0]; !slices.Contains(rules[id], r) {
			rules[id] = append(rules[id], r)
		}
	}
	p.rules = rules
	for _, pat := range uniq {
		p.plen = append(p.plen, int32(len(pat)))
		p.maxLen = max(p.maxLen, len(pat))
	}
	p.ac = newAhoCorasick(uniq)
	return byPat
}

func (s *scratch) add(i int32) {
	if s.seen[i/64]&(1<<(i%64)) == 0 {
		s.seen[i/64] |= 1 << (i % 64)
		s.cand = append(s.cand, i)
	}
}

// sameTail reports whether payload is the last bytes of stream, so one
// scan of the stream covers both.
func sameTail(payload, stream []byte) bool {
	n := len(payload)
	return n <= len(stream) && bytes.Equal(stream[len(stream)-n:], payload)
}

func (s *scratch) collect(p *prefilter, bufs ...[]byte) {
	for _, i := range p.always {
		s.add(i)
	}
	if p.ac == nil {
		return
	}
	for _, b := range bufs {
		if len(b) > 0 {
			p.ac.scan(b, func(id int32) {
				for _, r := range p.rules[id] {
					s.add(r)
				}
			})
		}
	}
}

// ordered sorts the candidates into evaluation order and clears the marks.
func (s *scratch) ordered() []int32 {
	slices.Sort(s.cand)
	for _, i := range s.cand {
		s.seen[i/64] &^= 1 << (i % 64)
	}
	return s.cand
}
