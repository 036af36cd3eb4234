package daemon

import (
	"net/netip"

	"github.com/softips/softips/pkg/inject"
	"github.com/softips/softips/pkg/kernel"
)

// onInject answers one kernel inject request; the tracker sends the RSTs
// at once (no batching: an out-of-band reset races the real traffic).
func (d *Daemon) onInject(r kernel.InjectRequest) {
	t := inject.Trigger{Src: r.Src, Dst: r.Dst, SrcPort: r.SrcPort, DstPort: r.DstPort,
		Seq: r.Seq, Ack: r.Ack, Flags: r.Flags, Window: r.Window, PayloadLen: uint32(r.PayloadLen),
		TTL: r.TTL, SrcMAC: r.SrcMAC, DstMAC: r.DstMAC, EntryID: r.EntryID, Time: r.Time}
	copy(t.VLANs[:], r.VLANs)
	d.tracker.Handle(t)
}

// onResetEvent logs the outcome of a reset; counters live in the tracker.
func (d *Daemon) onResetEvent(e inject.Event) {
	ev := d.log.Info()
	switch e.Kind {
	case inject.EventSendFailed, inject.EventInvalid, inject.EventUnconfirmed:
		ev = d.log.Warn()
	case inject.EventEvicted:
		ev = d.log.Debug()
	}
	ev = ev.Str("flow", flowText(e)).Uint64("entry", e.EntryID).Str("outcome", e.Kind.String()).
		Int("rsts", e.Frames).Int("answers", e.Answers).Int("echoes", e.Echoes)
	if e.Err != nil {
		ev = ev.Err(e.Err)
	}
	msg := "flow reset"
	if e.Kind == inject.EventRefused {
		msg = "reset refused: protected endpoint"
	}
	ev.Msg(msg)
}

func flowText(e inject.Event) string {
	f := e.Flow
	return netip.AddrPortFrom(f.Src, f.SrcPort).String() + " > " +
		netip.AddrPortFrom(f.Dst, f.DstPort).String()
}
