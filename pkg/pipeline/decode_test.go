package pipeline

import (
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// f7 is the known-faults packet P: C->S ACK|PSH seq 1000 ack 5000 len 100.
func f7(vlans ...uint16) seg {
	data := make([]byte, 100)
	for i := range data {
		data[i] = 'a' + byte(i%26)
	}
	return seg{src: addrC, dst: addrS, seq: 1000, ack: 5000, flags: FlagACK | FlagPSH,
		data: string(data), vlans: vlans}
}

func TestDecode(t *testing.T) {
	v6c := netip.MustParseAddrPort("[2001:db8::10]:51000")
	v6s := netip.MustParseAddrPort("[2001:db8::20]:443")
	syn6 := seg{src: v6c, dst: v6s, seq: 7000, flags: FlagSYN}
	hbh := syn6
	hbh.hopByHop = true
	tests := []struct {
		name  string
		frame []byte
		lt    layers.LinkType
		want  Reason
		vlans int
		src   netip.AddrPort
		plen  int
	}{
		{"F1 untagged", ether(t, f7()), layers.LinkTypeEthernet, ReasonOK, 0, addrC, 100},
		{"F1 tagged VID 100", ether(t, f7(100)), layers.LinkTypeEthernet, ReasonOK, 1, addrC, 100},
		{"QinQ", ether(t, f7(100, 200)), layers.LinkTypeEthernet, ReasonOK, 2, addrC, 100},
		{"four tags", ether(t, f7(1, 2, 3, 4)), layers.LinkTypeEthernet, ReasonVLANDepth, 3, addrC, 0},
		{"F3 IPv6", ether(t, syn6), layers.LinkTypeEthernet, ReasonOK, 0, v6c, 0},
		{"F3 IPv6 hop-by-hop", ether(t, hbh), layers.LinkTypeEthernet, ReasonOK, 0, v6c, 0},
		{"SLL", sll(t, f7()), layers.LinkTypeLinuxSLL, ReasonOK, 0, addrC, 100},
		{"SLL2", sll2(t, f7()), layers.LinkTypeLinuxSLL2, ReasonOK, 0, addrC, 100},
		{"raw", ether(t, f7())[14:], layers.LinkTypeRaw, ReasonOK, 0, addrC, 100},
		{"null", append([]byte{2, 0, 0, 0}, ether(t, f7())[14:]...), layers.LinkTypeNull,
			ReasonOK, 0, addrC, 100},
		{"truncated snapshot", ether(t, f7())[:80], layers.LinkTypeEthernet, ReasonOK, 0, addrC, 100},
		{"truncated tcp", ether(t, f7())[:40], layers.LinkTypeEthernet, ReasonTruncTCP, 0, addrC, 0},
		{"arp", append(ether(t, f7())[:12], 8, 6, 0, 1), layers.LinkTypeEthernet, ReasonNotIP, 0,
			addrC, 0},
		{"unknown link", ether(t, f7()), layers.LinkType(147), ReasonLinkType, 0, addrC, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Packet
			got := Decode(tt.lt, tt.frame, &p)
			if got != tt.want {
				t.Fatalf("reason %v, want %v", got, tt.want)
			}
			if p.NVLAN != tt.vlans {
				t.Errorf("%d VLAN tags, want %d", p.NVLAN, tt.vlans)
			}
			if got != ReasonOK {
				return
			}
			if p.SrcAddrPort() != tt.src || p.PayloadLen != tt.plen {
				t.Errorf("src %v payload %d, want %v %d", p.SrcAddrPort(), p.PayloadLen,
					tt.src, tt.plen)
			}
			if tt.vlans > 0 && p.VLANs[0] != 100 {
				t.Errorf("outer VID %d, want 100", p.VLANs[0])
			}
		})
	}
}

// TestDecodeBadChecksum checks that a segment with a wrong TCP checksum is
// still decoded: offloaded checksums are common in captures.
func TestDecodeBadChecksum(t *testing.T) {
	b := ether(t, f7())
	b[14+20+16] ^= 0xff
	var p Packet
	if r := Decode(layers.LinkTypeEthernet, b, &p); r != ReasonOK || p.Seq != 1000 {
		t.Errorf("reason %v seq %d, want ok 1000", r, p.Seq)
	}
}

func TestDecodeNoAllocs(t *testing.T) {
	b := ether(t, f7(100))
	var p Packet
	n := testing.AllocsPerRun(100, func() { Decode(layers.LinkTypeEthernet, b, &p) })
	if n != 0 {
		t.Errorf("%v allocations per decode, want 0", n)
	}
}

// TestHandleNoAllocs checks the in-order path after warm-up: decode, flow
// lookup, state tracking, reassembly and event delivery.
func TestHandleNoAllocs(t *testing.T) {
	w := NewWorker(Config{}, 0, nopInspector{})
	hs := handshake()
	for i, s := range hs[:3] {
		b := ether(t, s)
		w.HandleFrame(layers.LinkTypeEthernet, b, len(b), t0, i)
	}
	frames := make([][]byte, 200)
	for i := range frames {
		s := f7()
		s.seq = 1000 + uint32(i*100)
		frames[i] = ether(t, s)
	}
	i := 0
	n := testing.AllocsPerRun(150, func() {
		w.HandleFrame(layers.LinkTypeEthernet, frames[i], len(frames[i]), t0, i)
		i++
	})
	if n != 0 {
		t.Errorf("%v allocations per in-order packet, want 0", n)
	}
}

type nopInspector struct{}

func (nopInspector) Inspect(*Event) {}
func (nopInspector) FlowEnd(*Flow)  {}

func FuzzDecode(f *testing.F) {
	f.Add(uint16(layers.LinkTypeEthernet), ether(f, f7(100, 200)))
	v6 := seg{src: netip.MustParseAddrPort("[2001:db8::10]:1"),
		dst: netip.MustParseAddrPort("[2001:db8::20]:2"), hopByHop: true, data: "x"}
	f.Add(uint16(layers.LinkTypeEthernet), ether(f, v6))
	f.Add(uint16(layers.LinkTypeLinuxSLL2), sll2(f, f7()))
	f.Add(uint16(layers.LinkTypeLinuxSLL), sll(f, f7()))
	f.Add(uint16(layers.LinkTypeNull), append([]byte{2, 0, 0, 0}, ether(f, f7())[14:]...))
	f.Fuzz(func(t *testing.T, lt uint16, data []byte) {
		var p Packet
		r := Decode(layers.LinkType(lt), data, &p)
		if r != ReasonOK {
			return
		}
		if len(p.Payload) > p.PayloadLen || p.PayloadLen < 0 {
			t.Fatalf("payload %d of %d on the wire", len(p.Payload), p.PayloadLen)
		}
		w := NewWorker(Config{Midstream: lt%2 == 0, MaxFlows: 4}, 0, nopInspector{})
		w.HandleFrame(layers.LinkType(lt), data, len(data), t0, 1)
		w.HandleFrame(layers.LinkType(lt), data, len(data), t0, 2)
		w.Close()
	})
}
