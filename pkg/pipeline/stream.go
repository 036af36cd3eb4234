package pipeline

// stream reassembles one direction of a flow. Bytes are delivered in
// sequence order; the first copy of any byte wins over later copies.
type stream struct {
	started  bool
	next     uint32    // next expected sequence number
	buf      []byte    // delivered bytes; the tail is the newest
	base     uint64    // delivered bytes compacted out of buf
	floor    int       // buf[floor:] is contiguous (no gap inside)
	ooo      []segment // held out-of-order pieces, sorted, not overlapping
	oooBytes int
	gap      bool // a gap was skipped during the current packet
}

// segment is a held out-of-order piece: wire sequence space [seq,
// seq+wire) of which data holds the captured head.
type segment struct {
	seq  uint32
	data []byte
	wire int
}

// seqDiff returns a-b in sequence space (RFC 1982 style).
func seqDiff(a, b uint32) int64 { return int64(int32(a - b)) }

// reasm carries the limits and counters a worker lends its streams.
type reasm struct {
	ctx       int // bytes of earlier context delivered with new data
	maxHeld   int // out-of-order bytes held per direction
	maxSegs   int // out-of-order pieces held per direction
	memcap    int // out-of-order bytes held per worker
	mem       int
	stats     *counters
	compactAt int
}

func (s *stream) start(next uint32) {
	s.started, s.next = true, next
}

// add feeds one segment and returns where this packet's delivered bytes
// begin in buf, and how many there are.
func (s *stream) add(r *reasm, seq uint32, data []byte, wire int) (from, n int) {
	s.compact(r)
	s.gap = false
	mark := len(s.buf)
	from = max(mark-r.ctx, s.floor)
	s.accept(r, seq, data, wire)
	return s.cut(from, mark), len(s.buf) - mark
}

// cut keeps context from before a gap out of the delivered range, unless
// the gap fell after new bytes of this packet (then ev.Gap tells).
func (s *stream) cut(from, mark int) int {
	if s.floor <= mark {
		return max(from, s.floor)
	}
	return from
}

// compact drops delivered bytes older than the context window.
func (s *stream) compact(r *reasm) {
	if len(s.buf) <= r.compactAt {
		return
	}
	cut := len(s.buf) - r.ctx
	copy(s.buf, s.buf[cut:])
	s.base += uint64(cut)
	s.buf = s.buf[:r.ctx]
	s.floor = max(0, s.floor-cut)
}

func (s *stream) accept(r *reasm, seq uint32, data []byte, wire int) {
	for wire > 0 {
		if old := -seqDiff(seq, s.next); old > 0 {
			if old >= int64(wire) {
				r.stats.retrans.Add(1)
				r.stats.overlapBytes.Add(uint64(wire))
				return
			}
			r.stats.overlapBytes.Add(uint64(old))
			seq, data, wire = advance(seq, data, wire, int(old))
		}
		if seq != s.next {
			s.hold(r, seq, data, wire)
			return
		}
		lim := wire
		if len(s.ooo) > 0 {
			lim = min(lim, int(seqDiff(s.ooo[0].seq, s.next)))
		}
		s.appendInOrder(r, data[:min(lim, len(data))], lim)
		seq, data, wire = advance(seq, data, wire, lim)
		s.drain(r)
	}
}

// advance drops the first n sequence numbers of a segment.
func advance(seq uint32, data []byte, wire, n int) (uint32, []byte, int) {
	return seq + uint32(n), data[min(n, len(data)):], wire - n
}

// appendInOrder delivers bytes at s.next; a snapshot that lost the tail
// of the segment leaves a gap of the missing bytes.
func (s *stream) appendInOrder(r *reasm, data []byte, wire int) {
	s.buf = append(s.buf, data...)
	s.next += uint32(wire)
	if lost := wire - len(data); lost > 0 {
		r.stats.truncBytes.Add(uint64(lost))
		s.floor, s.gap = len(s.buf), true
	}
}

// drain delivers held pieces that have become in order.
func (s *stream) drain(r *reasm) {
	for len(s.ooo) > 0 && s.ooo[0].seq == s.next {
		h := s.ooo[0]
		s.ooo = s.ooo[1:]
		s.release(r, h)
		s.appendInOrder(r, h.data, h.wire)
	}
	if len(s.ooo) == 0 {
		s.ooo = s.ooo[:0:0]
	}
}

func (s *stream) release(r *reasm, h segment) {
	s.oooBytes -= len(h.data)
	r.mem -= len(h.data)
	r.stats.held.Add(-int64(len(h.data)))
}

// skip gives up on the bytes missing before the first held piece.
func (s *stream) skip(r *reasm) {
	lost := seqDiff(s.ooo[0].seq, s.next)
	r.stats.gaps.Add(1)
	r.stats.gapBytes.Add(uint64(lost))
	s.next = s.ooo[0].seq
	s.floor, s.gap = len(s.buf), true
	s.drain(r)
}

// hold keeps an out-of-order segment, skipping ahead over the missing
// bytes when the per-direction or per-worker limits would be exceeded.
func (s *stream) hold(r *reasm, seq uint32, data []byte, wire int) {
	for s.overLimit(r, len(data)) {
		if len(s.ooo) == 0 {
			r.stats.gaps.Add(1)
			r.stats.gapBytes.Add(uint64(seqDiff(seq, s.next)))
			s.next = seq
			s.floor, s.gap = len(s.buf), true
			s.accept(r, seq, data, wire)
			return
		}
		s.skip(r)
		if seqDiff(seq, s.next) <= 0 {
			s.accept(r, seq, data, wire)
			return
		}
	}
	r.stats.oooSegments.Add(1)
	s.insertHeld(r, seq, data, wire)
}

func (s *stream) overLimit(r *reasm, n int) bool {
	return len(s.ooo) >= r.maxSegs || s.oooBytes+n > r.maxHeld || r.mem+n > r.memcap
}

// insertHeld stores the parts of a segment not already held (first wins).
func (s *stream) insertHeld(r *reasm, seq uint32, data []byte, wire int) {
	for i := 0; i <= len(s.ooo) && wire > 0; i++ {
		if i == len(s.ooo) {
			s.insertAt(r, i, seq, data, wire)
			return
		}
		h := s.ooo[i]
		hEnd := h.seq + uint32(h.wire)
		if seqDiff(hEnd, seq) <= 0 {
			continue
		}
		if before := int(seqDiff(h.seq, seq)); before > 0 {
			n := min(before, wire)
			s.insertAt(r, i, seq, data[:min(n, len(data))], n)
			i++
			seq, data, wire = advance(seq, data, wire, n)
		}
		if covered := int(seqDiff(hEnd, seq)); covered > 0 && wire > 0 {
			n := min(covered, wire)
			r.stats.overlapBytes.Add(uint64(n))
			seq, data, wire = advance(seq, data, wire, n)
		}
	}
}

func (s *stream) insertAt(r *reasm, i int, seq uint32, data []byte, wire int) {
	seg := segment{seq: seq, data: append([]byte(nil), data...), wire: wire}
	s.ooo = append(s.ooo, segment{})
	copy(s.ooo[i+1:], s.ooo[i:])
	s.ooo[i] = seg
	s.oooBytes += len(data)
	r.mem += len(data)
	r.stats.held.Add(int64(len(data)))
}

// flush delivers every held piece, skipping the gaps before them, and
// returns the delivered range like add.
func (s *stream) flush(r *reasm) (from, n int) {
	s.compact(r)
	s.gap = false
	mark := len(s.buf)
	from = max(mark-r.ctx, s.floor)
	for len(s.ooo) > 0 {
		s.skip(r)
	}
	return s.cut(from, mark), len(s.buf) - mark
}

// end returns the offset of the end of buf in all the bytes delivered.
func (s *stream) end() uint64 { return s.base + uint64(len(s.buf)) }

// drop releases held memory without delivering it.
func (s *stream) drop(r *reasm) {
	for _, h := range s.ooo {
		s.release(r, h)
	}
	s.ooo = nil
}
