package offline

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// report prints alerts (unless they went to EVE), signals, RSTs, the table
// and the summary.
func report(w io.Writer, r Result, alertsAsEVE bool) error {
	if !alertsAsEVE {
		for _, a := range r.Alerts {
			fmt.Fprintf(w, "alert  [%s] sid:%d rev:%d %q %s -> %s (packet %d)\n",
				a.Rule.Action, a.Rule.SID, a.Rule.Rev, a.Rule.Msg, a.Src, a.Dst, a.PcapCnt)
		}
	}
	for _, h := range r.AVHits {
		fmt.Fprintf(w, "virus  %s (%s in %s at %d) %s -> %s\n", h.Signature, h.Kind, h.Object,
			h.Offset, h.Server, h.Client)
	}
	for _, s := range r.Signals {
		fmt.Fprintf(w, "signal %s\n", s)
	}
	for _, f := range r.Resets {
		fmt.Fprintf(w, "rst    %s\n", describe(f))
	}
	fmt.Fprintln(w, "block table:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ID\tSPEC\tORIGIN\tINV")
	for _, e := range r.Table {
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%d\n", e.ID, e.Spec, e.Origin, e.Invariants)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	s := r.Summary
	_, err := fmt.Fprintf(w, "summary: %d packets (%d TCP), %d flows, %d alerts, %d signals, "+
		"%d RSTs, %d dropped, %v elapsed, %.0f packets/s\n", s.Packets, s.TCP, s.Flows,
		s.Alerts, len(r.Signals), len(r.Resets), s.Dropped, s.Elapsed.Round(1e6),
		s.PacketsPerSec)
	return err
}

// describe renders one RST frame as addresses, flags and numbers.
func describe(frame []byte) string {
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.NoCopy)
	tcp, _ := p.TransportLayer().(*layers.TCP)
	if tcp == nil || p.NetworkLayer() == nil {
		return fmt.Sprintf("undecodable frame of %d bytes", len(frame))
	}
	src, dst := p.NetworkLayer().NetworkFlow().Endpoints()
	flags := "RST"
	if tcp.ACK {
		flags = "RST|ACK"
	}
	return fmt.Sprintf("%s:%d > %s:%d %s seq %d ack %d", src, tcp.SrcPort, dst, tcp.DstPort,
		flags, tcp.Seq, tcp.Ack)
}
