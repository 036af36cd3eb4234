package flowspec

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
)

// frame builds an Ethernet frame carrying one TCP segment, under the given
// VLAN ids (outermost first; none for untagged). hopByHop puts an 8-byte
// IPv6 Hop-by-Hop header before TCP.
type frame struct {
	src, dst   string
	sport      uint16
	dport      uint16
	vlans      []uint16
	hopByHop   bool
	syn        bool
	payloadLen int
}

func (f frame) bytes(t *testing.T) []byte {
	t.Helper()
	src, dst := net.ParseIP(f.src), net.ParseIP(f.dst)
	v6 := src.To4() == nil
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 0x0a},
		DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 0x14}}
	ls := []gopacket.SerializableLayer{eth}
	next := layers.EthernetTypeIPv4
	if v6 {
		next = layers.EthernetTypeIPv6
	}
	if len(f.vlans) > 0 {
		eth.EthernetType = layers.EthernetTypeDot1Q
		for i, id := range f.vlans {
			et := layers.EthernetTypeDot1Q
			if i == len(f.vlans)-1 {
				et = next
			}
			ls = append(ls, &layers.Dot1Q{VLANIdentifier: id, Type: et})
		}
	} else {
		eth.EthernetType = next
	}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(f.sport), DstPort: layers.TCPPort(f.dport),
		Seq: 1000, Ack: 5000, ACK: !f.syn, PSH: !f.syn, SYN: f.syn, Window: 512}
	if v6 {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, SrcIP: src, DstIP: dst,
			NextHeader: layers.IPProtocolTCP}
		ls = append(ls, ip)
		if f.hopByHop {
			ip.NextHeader = layers.IPProtocolIPv6HopByHop
			ls = append(ls, gopacket.Payload{6, 0, 1, 4, 0, 0, 0, 0})
		}
		_ = tcp.SetNetworkLayerForChecksum(ip)
	} else {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP,
			SrcIP: src, DstIP: dst}
		ls = append(ls, ip)
		_ = tcp.SetNetworkLayerForChecksum(ip)
	}
	ls = append(ls, tcp, gopacket.Payload(make([]byte, f.payloadLen)))
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: !f.hopByHop}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return buf.Bytes()
}

func compile(t *testing.T, expr string) *pcap.BPF {
	t.Helper()
	bpf, err := pcap.NewBPF(layers.LinkTypeEthernet, 65535, expr)
	if err != nil {
		t.Fatalf("libpcap rejects %q: %v", expr, err)
	}
	return bpf
}

func pcapMatches(t *testing.T, bpf *pcap.BPF, data []byte) bool {
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, 0), CaptureLength: len(data),
		Length: len(data)}
	return bpf.Matches(ci, data)
}

// C and S of known-faults.md.
const (
	faultC = "203.0.113.10"
	faultS = "198.51.100.20"
)

// TestF1TaggedMirrorTraffic: an 802.1Q tag must not hide a match from the
// rendered filter, and a tagged frame to another host must not match.
func TestF1TaggedMirrorTraffic(t *testing.T) {
	spec := MustParse("0.0.0.0/0 0 198.51.100.20/32 443")
	bpf := compile(t, spec.PcapFilter())
	cases := []struct {
		name string
		f    frame
		want bool
	}{
		{"a untagged", frame{src: faultC, dst: faultS, sport: 51000, dport: 443,
			payloadLen: 100}, true},
		{"b vid 100", frame{src: faultC, dst: faultS, sport: 51000, dport: 443,
			vlans: []uint16{100}, payloadLen: 100}, true},
		{"c vid 100 other host", frame{src: faultC, dst: "198.51.100.21", sport: 51000,
			dport: 443, vlans: []uint16{100}, payloadLen: 100}, false},
		{"qinq", frame{src: faultC, dst: faultS, sport: 51000, dport: 443,
			vlans: []uint16{100, 200}, payloadLen: 100}, true},
		{"reply direction", frame{src: faultS, dst: faultC, sport: 443, dport: 51000,
			vlans: []uint16{100}}, true},
	}
	for _, c := range cases {
		if got := pcapMatches(t, bpf, c.f.bytes(t)); got != c.want {
			t.Errorf("%s: pcap filter match = %v, want %v\n%s", c.name, got, c.want,
				spec.PcapFilter())
		}
	}
}

// TestF2VlanDoesNotShiftOtherEntries renders two entries together, one only
// reachable through a tag, and checks both orders on frames untagged, on
// VID 100 and on VID 200.
func TestF2VlanDoesNotShiftOtherEntries(t *testing.T) {
	a := MustParse("198.51.100.7 0 203.0.113.10 80")
	b := MustParse("198.51.100.8 0 203.0.113.11 22")
	frames := []frame{
		{src: "198.51.100.7", dst: "203.0.113.10", sport: 40000, dport: 80},
		{src: "198.51.100.7", dst: "203.0.113.10", sport: 40000, dport: 80, vlans: []uint16{100}},
		{src: "198.51.100.8", dst: "203.0.113.11", sport: 40000, dport: 22, vlans: []uint16{200}},
		{src: "198.51.100.8", dst: "203.0.113.11", sport: 40000, dport: 22},
		{src: "198.51.100.9", dst: "203.0.113.11", sport: 40000, dport: 22, vlans: []uint16{200}},
	}
	want := []bool{true, true, true, true, false}
	for _, order := range [][]Spec{{a, b}, {b, a}} {
		bpf := compile(t, PcapFilterSet(order))
		for i, f := range frames {
			if got := pcapMatches(t, bpf, f.bytes(t)); got != want[i] {
				t.Errorf("order %v frame %d: match = %v, want %v", order, i, got, want[i])
			}
		}
	}
}

// TestF3RendererIPv6 checks the IPv6 rendering compiles, selects the plain
// SYN, and never uses IPv4-only byte-offset tests.
func TestF3RendererIPv6(t *testing.T) {
	spec := MustParse("2001:db8::10/128 0 2001:db8::20/128 443")
	expr := spec.PcapFilter()
	for _, bad := range []string{"tcp[", "ip["} {
		if strings.Contains(expr, bad) {
			t.Errorf("IPv6 rendering uses %q: %s", bad, expr)
		}
	}
	bpf := compile(t, expr)
	syn := frame{src: "2001:db8::10", dst: "2001:db8::20", sport: 51000, dport: 443, syn: true}
	if !pcapMatches(t, bpf, syn.bytes(t)) {
		t.Errorf("plain IPv6 SYN not selected by %s", expr)
	}
	if !spec.Matches(tup("2001:db8::10", 51000, "2001:db8::20", 443)) {
		t.Error("Spec.Matches misses the IPv6 tuple")
	}
}

// TestPcapFilterAgreesWithMatches cross-checks the rendering against
// Spec.Matches over a grid of specs and packets.
func TestPcapFilterAgreesWithMatches(t *testing.T) {
	specs := []string{
		"198.51.100.7 0 203.0.113.10 80", "198.51.100.0/24 0 0.0.0.0/0 0",
		"0.0.0.0/0 0 203.0.113.10 443", "198.51.100.7 1234 203.0.113.10 80",
		"0.0.0.0/0 80 0.0.0.0/0 0", "2001:db8::/48 0 ::/0 22",
	}
	pkts := []frame{
		{src: "198.51.100.7", dst: "203.0.113.10", sport: 1234, dport: 80},
		{src: "203.0.113.10", dst: "198.51.100.7", sport: 80, dport: 1234},
		{src: "198.51.100.99", dst: "203.0.113.10", sport: 5555, dport: 443},
		{src: "198.51.101.1", dst: "203.0.113.9", sport: 80, dport: 22},
		{src: "2001:db8::5", dst: "2001:db9::1", sport: 40000, dport: 22},
		{src: "2001:db9::5", dst: "2001:db9::1", sport: 22, dport: 80},
	}
	for _, s := range specs {
		spec := MustParse(s)
		bpf := compile(t, spec.PcapFilter())
		for _, p := range pkts {
			want := spec.Matches(tup(p.src, p.sport, p.dst, p.dport))
			if got := pcapMatches(t, bpf, p.bytes(t)); got != want {
				t.Errorf("%q on %s:%d>%s:%d: pcap %v, Matches %v", s, p.src, p.sport,
					p.dst, p.dport, got, want)
			}
		}
	}
}
