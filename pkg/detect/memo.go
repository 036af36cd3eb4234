package detect

// maxMemoHits bounds the patterns a flow direction remembers; past it the
// direction falls back to scanning its whole stream window.
const maxMemoHits = 256

// hitMemo remembers, for one direction of a flow, where the full
// prefilter's patterns last occurred in the stream, so each packet scans
// only its new bytes (and a pattern's length before them) instead of the
// whole context window. Offsets count the direction's delivered bytes
// (Input.StreamEnd).
type hitMemo struct {
	ac *ahoCorasick // automaton the ids belong to (the engine may change)
	// every occurrence inside [start, end) has its latest start in hits
	start, end uint64
	hits       []memoHit
}

type memoHit struct {
	id    int32
	start uint64
}

// update brings m to the window stream, which ends at offset end with its
// last n bytes new, and reports false when the window must be scanned
// whole instead.
func (m *hitMemo) update(p *prefilter, stream []byte, n int, end uint64) bool {
	sStart := end - uint64(len(stream))
	from, fresh := m.begin(p, stream, n, end)
	ok := true
	p.ac.scanPos(stream[from-sStart:], func(id int32, last int) {
		if e := from + uint64(last) + 1; e > fresh && ok {
			ok = m.set(id, e-uint64(p.plen[id]))
		}
	})
	return m.finish(ok, sStart, end)
}

// begin readies m for the window stream, which ends at offset end with
// its last n bytes new. It returns the offset a scan must start at and
// the offset after which an occurrence's end makes it new to m: the new
// bytes (and a pattern's length before them) when m is continuous with
// the last window, else the whole window, with m emptied.
func (m *hitMemo) begin(p *prefilter, stream []byte, n int, end uint64) (from, fresh uint64) {
	sStart, newStart := end-uint64(len(stream)), end-uint64(n)
	from, fresh = sStart, sStart
	if m.ac == p.ac && m.end == newStart && m.start <= sStart {
		fresh = newStart
		if back := uint64(p.maxLen - 1); newStart > sStart+back {
			from = newStart - back
		}
	} else {
		m.ac, m.hits = p.ac, m.hits[:0]
	}
	m.prune(sStart)
	return from, fresh
}

// finish records that m covers the window [start, end), or forgets it all
// when ok is false (too many patterns), and returns ok.
func (m *hitMemo) finish(ok bool, start, end uint64) bool {
	if !ok {
		m.ac = nil
		return false
	}
	m.start, m.end = start, end
	return true
}

// prune forgets occurrences that start before the window.
func (m *hitMemo) prune(start uint64) {
	keep := m.hits[:0]
	for _, h := range m.hits {
		if h.start >= start {
			keep = append(keep, h)
		}
	}
	m.hits = keep
}

// set records an occurrence of id at start, keeping the latest per id.
func (m *hitMemo) set(id int32, start uint64) bool {
	for i := range m.hits {
		if h := &m.hits[i]; h.id == id {
			h.start = max(h.start, start)
			return true
		}
	}
	if len(m.hits) >= maxMemoHits {
		return false
	}
	m.hits = append(m.hits, memoHit{id: id, start: start})
	return true
}

// collectFull adds the candidates of the full prefilter: rules whose fast
// pattern occurs anywhere in the stream window (or in payload, when that
// is not the window's tail). With a known stream offset and flow state it
// scans only the new bytes and takes the rest from the flow's memo.
func (e *Engine) collectFull(c *evalCtx, payload, stream []byte) {
	p, in, sc := &e.full, c.in, c.sc
	n := min(max(in.NewData, 0), len(stream))
	if p.ac == nil || n == 0 || in.Flow == nil || in.StreamEnd < uint64(len(stream)) {
		sc.collect(p, payload, stream)
		return
	}
	m := &in.Flow.memo[0]
	if !in.ToServer {
		m = &in.Flow.memo[1]
	}
	if !m.update(p, stream, n, in.StreamEnd) {
		sc.collect(p, payload, stream)
		return
	}
	sc.collect(p, payload)
	for _, h := range m.hits {
		for _, r := range p.rules[h.id] {
			sc.add(r)
		}
	}
}
