package inject

import "time"

// A reset can go unanswered without a trace: when detection is late, the
// first RSTs carry numbers a fast receiver has already left behind, it
// drops them silently, and it may never send another segment for the
// kernel to tag. So once a pending flow has been quiet for ProbeAfter, each
// side gets one bare ACK carrying the sequence number of the last RST sent
// to it. An endpoint that took its RST is gone and its stack answers with a
// RST (ignored on the mirror); one that dropped a stale RST finds the ACK
// unacceptable and answers with a duplicate ACK holding its next expected
// number, which the kernel tags and the tracker answers exactly.

// probeQuiet probes, once each, the pending flows answered from a late
// trigger and quiet for ProbeAfter. Flows reset from the kernel's own tags
// are answered from fresh numbers and are not probed.
func (t *Tracker) probeQuiet(now time.Time) {
	if t.cfg.ProbeAfter < 0 {
		return
	}
	for i := t.flows.tail; i != none; i = t.flows.slab[i].prev {
		f := &t.flows.slab[i]
		if now.Sub(f.last) < t.cfg.ProbeAfter {
			return // the rest are more recent still
		}
		if f.state == statePending && f.late && !f.probed {
			f.probed = true
			t.probe(f)
		}
	}
}

// probe sends the bare ACKs of f, one to each side it sent a RST.
func (t *Tracker) probe(f *flow) {
	var segs [2]segment
	n := 0
	for _, toHi := range [2]bool{false, true} {
		r, ok := f.lastRST(toHi)
		if !ok {
			continue
		}
		src, dst := f.key.hi, f.key.lo
		if toHi {
			src, dst = dst, src
		}
		segs[n] = segment{src: src, dst: dst, seq: r.seq, ack: r.ack, flags: FlagACK,
			ttl: pickTTL(t.cfg.Build, t.ttls.get(src.Addr()))}
		n++
	}
	frames := t.frames[:0]
	for i, s := range segs[:n] {
		b := t.frames[:cap(t.frames)][i]
		frames = append(frames, writeFrame(b[:0], s, t.cfg.Build, t.ipid))
		t.ipid++
	}
	t.frames = frames
	if n == 0 {
		return
	}
	if err := t.send(frames...); err != nil {
		t.stats.SendFailures += uint64(n)
		return
	}
	t.stats.Probes += uint64(n)
}

// lastRST returns the newest RST f sent towards its higher (toHi) or lower
// endpoint.
func (f *flow) lastRST(toHi bool) (sentRST, bool) {
	for k := f.nsent - 1; k >= 0 && k >= f.nsent-len(f.sent); k-- {
		if r := f.sent[k%len(f.sent)]; r.registered && r.toHi == toHi {
			return r, true
		}
	}
	return sentRST{}, false
}
