package respond

import (
	"net/netip"
	"testing"

	"github.com/softips/softips/pkg/pipeline"
)

func TestSignalFor(t *testing.T) {
	cases := []struct{ src, dst, want string }{
		{"203.0.113.10:51000", "198.51.100.20:443", "203.0.113.10 51000 198.51.100.20 443"},
		{"[::ffff:203.0.113.10]:51000", "[::ffff:198.51.100.20]:443",
			"203.0.113.10 51000 198.51.100.20 443"}, // mapped addresses unmapped
		{"[2001:db8::10]:51000", "[2001:db8::20]:443", "2001:db8::10 51000 2001:db8::20 443"},
	}
	for _, c := range cases {
		s := SignalFor(netip.MustParseAddrPort(c.src), netip.MustParseAddrPort(c.dst))
		if s.String() != c.want || s.Validate() != nil {
			t.Errorf("SignalFor(%s, %s) = %q (%v), want %q", c.src, c.dst, s, s.Validate(),
				c.want)
		}
	}
}

// TestTriggerFor: the injector sees a decoded packet exactly as it sees a
// kernel tag, VLAN tags beyond the injector's two dropped.
func TestTriggerFor(t *testing.T) {
	p := &pipeline.Packet{Src: netip.MustParseAddr("::ffff:203.0.113.10"),
		Dst: netip.MustParseAddr("198.51.100.20"), SrcPort: 51000, DstPort: 443,
		Seq: 1000, Ack: 5000, Flags: 0x18, Window: 502, TTL: 61, PayloadLen: 100,
		SrcMAC: [6]byte{2, 0, 0, 0, 0, 0x0a}, DstMAC: [6]byte{2, 0, 0, 0, 0, 0x14},
		HasMAC: true, VLANs: [3]uint16{100, 200, 300}, NVLAN: 3}
	tr := TriggerFor(p, 7)
	if tr.Src.String() != "203.0.113.10" || tr.Dst.String() != "198.51.100.20" ||
		tr.SrcPort != 51000 || tr.DstPort != 443 || tr.Seq != 1000 || tr.Ack != 5000 ||
		tr.Flags != 0x18 || tr.Window != 502 || tr.TTL != 61 || tr.PayloadLen != 100 ||
		tr.EntryID != 7 || tr.SrcMAC != p.SrcMAC || tr.DstMAC != p.DstMAC ||
		tr.VLANs != [2]uint16{100, 200} || tr.Late {
		t.Errorf("TriggerFor = %+v", tr)
	}
	if err := tr.Validate(); err != nil {
		t.Errorf("trigger does not validate: %v", err)
	}
	p.HasMAC = false
	if tr := TriggerFor(p, 7); tr.SrcMAC != [6]byte{} {
		t.Errorf("MACs copied from a frame without Ethernet: %v", tr.SrcMAC)
	}
}
