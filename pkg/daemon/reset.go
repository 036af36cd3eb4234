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
	ev.Msg(resetMessages[e.Kind])
}

func flowText(e inject.Event) string {
	f := e.Flow
	return netip.AddrPortFrom(f.Src, f.SrcPort).String() + " > " +
		netip.AddrPortFrom(f.Dst, f.DstPort).String()
}

// resetMessages names each outcome: one "flow reset" when the first RSTs
// leave, then one event for how it ended.
var resetMessages = map[inject.EventKind]string{
	inject.EventPending:     "flow reset",
	inject.EventConfirmed:   "reset confirmed: flow went silent",
	inject.EventUnconfirmed: "reset unconfirmed: flow still talks after its budget",
	inject.EventRefused:     "reset refused: protected endpoint",
	inject.EventSendFailed:  "reset send failed",
	inject.EventEvicted:     "reset tracking evicted",
	inject.EventInvalid:     "reset impossible: invalid trigger",
}
