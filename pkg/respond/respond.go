// Package respond turns a detector's verdict on one packet into the two
// things softips does about it: a block signal for the block table, and a
// trigger for the RST injector built from that very packet, so a single
// offending packet is answered at once rather than only the next one the
// kernel tags (known fault F9: "reject" must put frames on the wire).
//
// It decides, it never sends or logs.
package respond

import (
	"net/netip"

	"github.com/softips/softips/pkg/flowspec"
	"github.com/softips/softips/pkg/inject"
	"github.com/softips/softips/pkg/pipeline"
)

// SignalFor is the block signal of a flow as seen in the alerting
// direction: source address and port, destination address and port, each
// fixed (DESIGN §8).
func SignalFor(src, dst netip.AddrPort) flowspec.Spec { return flowspec.Exact(src, dst) }

// TriggerFor is the injector's view of a captured packet, the same fields
// the XDP classifier reports for a tagged one.
func TriggerFor(p *pipeline.Packet, entry uint64) inject.Trigger {
	t := inject.Trigger{Src: p.Src.Unmap(), Dst: p.Dst.Unmap(), SrcPort: p.SrcPort,
		DstPort: p.DstPort, Seq: p.Seq, Ack: p.Ack, Flags: p.Flags, Window: p.Window,
		PayloadLen: uint32(p.PayloadLen), TTL: p.TTL, EntryID: entry}
	if p.HasMAC {
		t.SrcMAC, t.DstMAC = p.SrcMAC, p.DstMAC
	}
	copy(t.VLANs[:], p.VLANs[:p.NVLAN])
	return t
}
