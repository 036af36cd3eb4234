package pipeline

import "sync/atomic"

type counter = atomic.Uint64

// counters are written by their worker and read by Stats at any time.
type counters struct {
	packets, bytes, tcp                     counter
	decode                                  [numReasons]counter
	flows, evictions, midstream, handshakes counter
	endTimeout, endReuse, endShutdown       counter
	retrans, overlapBytes, oooSegments      counter
	gaps, gapBytes, truncBytes              counter
	active, held                            atomic.Int64
}

// Stats is a snapshot of pipeline counters, summed over workers.
type Stats struct {
	Packets      uint64            // frames seen
	Bytes        uint64            // frame bytes on the wire
	TCP          uint64            // frames decoded to TCP
	Decode       map[string]uint64 // frames not decoded, by reason (non-zero only)
	Malformed    uint64            // sum of the malformed reasons in Decode
	Flows        uint64            // flows created
	ActiveFlows  uint64            // flows in the tables now
	Evictions    uint64            // flows ended because a table was full
	Midstream    uint64            // flows picked up without a handshake
	Handshakes   uint64            // 3-way handshakes completed
	EndTimeout   uint64            // flows ended idle
	EndReuse     uint64            // flows ended by a new SYN on their tuple
	EndShutdown  uint64            // flows ended by Close
	Retrans      uint64            // segments holding only already delivered bytes
	OverlapBytes uint64            // bytes dropped because an earlier copy won
	OOOSegments  uint64            // segments held out of order
	Gaps         uint64            // holes skipped in a stream
	GapBytes     uint64            // bytes skipped over by those holes
	TruncBytes   uint64            // payload bytes missing from truncated snapshots
	HeldBytes    uint64            // out-of-order bytes held now
}

// Stats returns a snapshot of the worker's counters. It is safe to call
// from any goroutine.
func (w *Worker) Stats() Stats {
	c := &w.st
	s := Stats{
		Packets: c.packets.Load(), Bytes: c.bytes.Load(), TCP: c.tcp.Load(),
		Flows: c.flows.Load(), Evictions: c.evictions.Load(),
		Midstream: c.midstream.Load(), Handshakes: c.handshakes.Load(),
		EndTimeout: c.endTimeout.Load(), EndReuse: c.endReuse.Load(),
		EndShutdown: c.endShutdown.Load(), Retrans: c.retrans.Load(),
		OverlapBytes: c.overlapBytes.Load(), OOOSegments: c.oooSegments.Load(),
		Gaps: c.gaps.Load(), GapBytes: c.gapBytes.Load(), TruncBytes: c.truncBytes.Load(),
		Decode:      map[string]uint64{},
		ActiveFlows: uint64(c.active.Load()), HeldBytes: uint64(c.held.Load()),
	}
	for r := range c.decode {
		if n := c.decode[r].Load(); n > 0 {
			s.Decode[Reason(r).String()] = n
			if Reason(r).Malformed() {
				s.Malformed += n
			}
		}
	}
	return s
}

// Add sums o into s.
func (s *Stats) Add(o Stats) {
	s.Packets += o.Packets
	s.Bytes += o.Bytes
	s.TCP += o.TCP
	s.Malformed += o.Malformed
	s.Flows += o.Flows
	s.ActiveFlows += o.ActiveFlows
	s.Evictions += o.Evictions
	s.Midstream += o.Midstream
	s.Handshakes += o.Handshakes
	s.EndTimeout += o.EndTimeout
	s.EndReuse += o.EndReuse
	s.EndShutdown += o.EndShutdown
	s.Retrans += o.Retrans
	s.OverlapBytes += o.OverlapBytes
	s.OOOSegments += o.OOOSegments
	s.Gaps += o.Gaps
	s.GapBytes += o.GapBytes
	s.TruncBytes += o.TruncBytes
	s.HeldBytes += o.HeldBytes
	if s.Decode == nil {
		s.Decode = map[string]uint64{}
	}
	for k, v := range o.Decode {
		s.Decode[k] += v
	}
}
