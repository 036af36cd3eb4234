package detect

// The content prefilter raises a rule when any of its positive contents
// occurs in the new data, so a short content shared by many rules raises
// them all on every packet holding it, and each then searches the whole
// stream window for its other contents. A stream rule can only match if
// every positive content occurs somewhere in the window, so the engine
// also requires its longest content (the likeliest to be rare) there.
// It knows which of these "needed" patterns the window holds from the
// same scan of the new bytes, plus a per-flow memo of earlier ones
// (hitMemo), or from a scan of the whole window when it has no memo.

// rawNeeds picks, for each content-only stream rule with more than one
// positive content, the prefilter pattern id of its longest content; -1
// elsewhere. It also marks the picked ids in tracked.
func rawNeeds(rs *RuleSet, ids map[string]int) (need []int32, tracked []bool) {
	need = make([]int32, len(rs.Rules))
	tracked = make([]bool, len(ids))
	for i, r := range rs.Rules {
		need[i] = -1
		if r.bufMask&^1 != 0 || !r.fp.ok || r.chains[0].posPCRE || r.mode == modePacket {
			continue
		}
		pats := r.chains[0].contentPatterns()
		if len(pats) < 2 {
			continue
		}
		best := pats[0]
		for _, p := range pats[1:] {
			if len(p) > len(best) {
				best = p
			}
		}
		id, ok := ids[string(best)]
		if !ok {
			continue
		}
		need[i], tracked[id] = int32(id), true
	}
	return need, tracked
}

// collectRaw adds the content prefilter's candidates: the rules without a
// fast pattern, and those with a content in payload or ending in the last
// n bytes of stream. When it knows which needed patterns the whole window
// holds, it drops the candidates whose needed pattern is absent.
func (e *Engine) collectRaw(c *evalCtx, payload, stream []byte, n int) {
	p, sc := &e.raw, c.sc
	sc.collect(p, payload)
	if p.ac == nil || n == 0 {
		return
	}
	tailAt := max(len(stream)-n-maxPrefilterLen+1, 0)
	if !e.rawTrack {
		sc.collect(p, stream[tailAt:])
		return
	}
	if e.scanRaw(c, stream, n, tailAt) {
		e.dropAbsent(sc)
	}
	clear(sc.present)
}

// scanRaw scans stream from tailAt (or from its start, when the flow's
// memo is not continuous) for the raw patterns: occurrences inside
// stream[tailAt:] raise their rules, occurrences of needed patterns are
// marked present. It reports whether the marks cover the whole window.
func (e *Engine) scanRaw(c *evalCtx, stream []byte, n, tailAt int) bool {
	p, sc, in := &e.raw, c.sc, c.in
	from, fresh, sStart := tailAt, 0, uint64(0)
	var m *hitMemo
	if in.Flow != nil && in.StreamEnd >= uint64(len(stream)) {
		m = &in.Flow.rawMemo[0]
		if !in.ToServer {
			m = &in.Flow.rawMemo[1]
		}
		sStart = in.StreamEnd - uint64(len(stream))
		f, fr := m.begin(p, stream, n, in.StreamEnd)
		from, fresh = min(from, int(f-sStart)), int(fr-sStart)
	}
	memoOK := m != nil
	p.ac.scanPos(stream[from:], func(id int32, last int) {
		end := from + last + 1
		start := end - int(p.plen[id])
		if start >= tailAt {
			for _, r := range p.rules[id] {
				sc.add(r)
			}
		}
		if e.rawTracked[id] {
			sc.present[id/64] |= 1 << (id % 64)
			if memoOK && end > fresh {
				memoOK = m.set(id, sStart+uint64(start))
			}
		}
	})
	whole := from == 0
	if m == nil || !m.finish(memoOK, sStart, in.StreamEnd) {
		return whole
	}
	for _, h := range m.hits {
		sc.present[h.id/64] |= 1 << (h.id % 64)
	}
	return true
}

// dropAbsent removes the candidates whose needed pattern is not marked
// present. It must run before candidates of other prefilters are added.
func (e *Engine) dropAbsent(sc *scratch) {
	keep := sc.cand[:0]
	for _, i := range sc.cand {
		if id := e.rawNeed[i]; id >= 0 && sc.present[id/64]&(1<<(id%64)) == 0 {
			sc.seen[i/64] &^= 1 << (i % 64)
			continue
		}
		keep = append(keep, i)
	}
	sc.cand = keep
}
