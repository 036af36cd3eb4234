package pipeline

import "time"

// track moves the TCP state machine of f for packet p travelling in
// direction d, and starts the stream of a direction once its initial
// sequence number is known.
func (w *Worker) track(f *Flow, p *Packet, d int) {
	syn, ack := p.Flags&FlagSYN != 0, p.Flags&FlagACK != 0
	switch {
	case p.Flags&FlagRST != 0:
		f.State = StateClosed
	case syn && !ack:
		w.onSyn(f, p, d)
	case syn && ack:
		w.onSynAck(f, p, d)
	case ack && f.State == StateSynRecv && d != int(f.synAckFrom):
		f.State, f.established = StateEstablished, true
		w.st.handshakes.Add(1)
	}
	if f.Midstream && !f.dir[d].started {
		f.dir[d].start(p.Seq)
	}
	if p.Flags&FlagFIN != 0 && f.State != StateClosed {
		f.finSeen[d] = true
		f.State = StateClosing
		if f.finSeen[0] && f.finSeen[1] {
			f.State = StateClosed
		}
	}
}

// onSyn records a SYN; a SYN from the other side too is a simultaneous
// open or a split handshake, which then completes with a SYN-ACK.
func (w *Worker) onSyn(f *Flow, p *Packet, d int) {
	if f.synSeen[d] {
		return // retransmission
	}
	f.synSeen[d], f.isn[d], f.synLen[d] = true, p.Seq, p.PayloadLen
	f.dir[d].start(p.Seq + 1)
	if f.State == StateNone {
		f.State = StateSynSent
	}
}

// onSynAck accepts a SYN-ACK that acknowledges the other side's SYN, or
// (with midstream pickup) one whose SYN was not captured.
func (w *Worker) onSynAck(f *Flow, p *Packet, d int) {
	o := 1 - d
	// A TCP Fast Open SYN-ACK also acknowledges the data on the SYN.
	acked := seqDiff(p.Ack, f.isn[o]+1)
	ok := f.State == StateSynSent && f.synSeen[o] && acked >= 0 && acked <= int64(f.synLen[o])
	pickup := w.cfg.Midstream && f.State == StateNone
	if !ok && !pickup {
		return
	}
	if !f.synSeen[d] {
		f.synSeen[d], f.isn[d] = true, p.Seq
		f.dir[d].start(p.Seq + 1)
	}
	if pickup && !f.dir[o].started {
		f.dir[o].start(p.Ack)
	}
	f.State, f.synAckFrom = StateSynRecv, int8(d)
}

// deliver reassembles the payload of p and hands the event to the
// Inspector.
func (w *Worker) deliver(f *Flow, p *Packet, d int, t time.Time, index int) {
	ev := &w.ev
	*ev = Event{Flow: f, Packet: p, Index: index, Time: t, ToServer: d == ToServer,
		Established: f.established && f.State != StateClosed, Src: p.SrcAddrPort(),
		Dst: p.DstAddrPort()}
	s := &f.dir[d]
	switch {
	case !s.started:
		ev.Stream, ev.NewData = p.Payload, len(p.Payload)
	case p.PayloadLen > 0:
		seq := p.Seq
		if p.Flags&FlagSYN != 0 {
			seq++ // data on a SYN (TCP Fast Open) follows the SYN's number
		}
		from, n := s.add(&w.re, seq, p.Payload, p.PayloadLen)
		if n > 0 {
			ev.Stream, ev.NewData, ev.StreamEnd = s.buf[from:], n, s.end()
		}
		ev.Gap = s.gap
	}
	w.insp.Inspect(ev)
}
