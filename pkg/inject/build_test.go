package inject

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// want is every field of one built RST that depends on its inputs.
type want struct {
	src, dst netip.AddrPort
	seq, ack uint32
	flags    uint8
	ttl      uint8
	id       uint16 // IPv4 only
	ethSrc   [6]byte
	ethDst   [6]byte // both zero: the mgmtSrc and mgmtDst of BuildOptions
}

// rstACK is the flag byte of a RST that acknowledges.
const rstACK = FlagRST | FlagACK

func ap(a netip.Addr, port uint16) netip.AddrPort { return netip.AddrPortFrom(a, port) }

var (
	epC  = ap(addrC, 51000)
	epS  = ap(addrS, 443)
	epC6 = ap(addrC6, 51000)
	epS6 = ap(addrS6, 443)
)

// checkFrame decodes frame with gopacket and asserts every header field.
func checkFrame(t *testing.T, frame []byte, w want) {
	t.Helper()
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		t.Fatalf("decode: %v", el.Error())
	}
	checkLayers(t, p, w.src.Addr().Is4())
	eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if w.ethSrc == ([6]byte{}) && w.ethDst == ([6]byte{}) {
		w.ethSrc, w.ethDst = mgmtSrc, mgmtDst
	}
	if !bytes.Equal(eth.SrcMAC, w.ethSrc[:]) || !bytes.Equal(eth.DstMAC, w.ethDst[:]) {
		t.Errorf("ethernet %s -> %s, want %s -> %s", eth.SrcMAC, eth.DstMAC,
			net.HardwareAddr(w.ethSrc[:]), net.HardwareAddr(w.ethDst[:]))
	}
	var nl gopacket.NetworkLayer
	if w.src.Addr().Is4() {
		nl = checkIPv4(t, p.Layer(layers.LayerTypeIPv4).(*layers.IPv4), w)
	} else {
		nl = checkIPv6(t, p.Layer(layers.LayerTypeIPv6).(*layers.IPv6), w)
	}
	tcp := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	checkTCP(t, tcp, w)
	if err := tcp.SetNetworkLayerForChecksum(nl); err != nil {
		t.Fatal(err)
	}
	if err, bad := p.VerifyChecksums(); err != nil || len(bad) != 0 {
		t.Errorf("gopacket checksum verification: %v %+v", err, bad)
	}
	checkSums(t, frame)
	checkReserialized(t, p, frame)
}

// checkLayers asserts the frame is exactly Ethernet, IP, TCP: no VLAN tag
// copied from the mirror, no payload, no padding.
func checkLayers(t *testing.T, p gopacket.Packet, v4 bool) {
	t.Helper()
	ipType := layers.LayerTypeIPv6
	if v4 {
		ipType = layers.LayerTypeIPv4
	}
	ls := p.Layers()
	if len(ls) != 3 || ls[0].LayerType() != layers.LayerTypeEthernet ||
		ls[1].LayerType() != ipType || ls[2].LayerType() != layers.LayerTypeTCP {
		t.Fatalf("layers %v, want Ethernet/%v/TCP", ls, ipType)
	}
	if n := len(ls[2].LayerPayload()); n != 0 {
		t.Errorf("TCP payload %d bytes, want 0", n)
	}
}

func checkIPv4(t *testing.T, ip *layers.IPv4, w want) gopacket.NetworkLayer {
	t.Helper()
	got := [...]any{ip.Version, ip.IHL, ip.TOS, ip.Length, ip.Id, ip.Flags,
		ip.FragOffset, ip.TTL, ip.Protocol, len(ip.Options), ip.SrcIP.String(),
		ip.DstIP.String()}
	exp := [...]any{uint8(4), uint8(5), uint8(0), uint16(40), w.id,
		layers.IPv4DontFragment, uint16(0), w.ttl, layers.IPProtocolTCP, 0,
		w.src.Addr().String(), w.dst.Addr().String()}
	names := [...]string{"version", "ihl", "tos", "length", "id", "flags",
		"fragoff", "ttl", "protocol", "options", "src", "dst"}
	for i := range got {
		if got[i] != exp[i] {
			t.Errorf("ipv4 %s = %v, want %v", names[i], got[i], exp[i])
		}
	}
	return ip
}

func checkIPv6(t *testing.T, ip *layers.IPv6, w want) gopacket.NetworkLayer {
	t.Helper()
	got := [...]any{ip.Version, ip.TrafficClass, ip.FlowLabel, ip.Length,
		ip.NextHeader, ip.HopLimit, ip.SrcIP.String(), ip.DstIP.String()}
	exp := [...]any{uint8(6), uint8(0), uint32(0), uint16(20),
		layers.IPProtocolTCP, w.ttl, w.src.Addr().String(), w.dst.Addr().String()}
	names := [...]string{"version", "class", "flowlabel", "length", "next",
		"hoplimit", "src", "dst"}
	for i := range got {
		if got[i] != exp[i] {
			t.Errorf("ipv6 %s = %v, want %v", names[i], got[i], exp[i])
		}
	}
	return ip
}

func checkTCP(t *testing.T, tcp *layers.TCP, w want) {
	t.Helper()
	got := [...]any{uint16(tcp.SrcPort), uint16(tcp.DstPort), tcp.Seq, tcp.Ack,
		tcp.DataOffset, tcpFlags(tcp), tcp.NS, tcp.Window, tcp.Urgent,
		len(tcp.Options), len(tcp.Padding)}
	exp := [...]any{w.src.Port(), w.dst.Port(), w.seq, w.ack, uint8(5), w.flags,
		false, uint16(0), uint16(0), 0, 0}
	names := [...]string{"sport", "dport", "seq", "ack", "dataoff", "flags",
		"ns", "window", "urgent", "options", "padding"}
	for i := range got {
		if got[i] != exp[i] {
			t.Errorf("tcp %s = %v, want %v", names[i], got[i], exp[i])
		}
	}
}

// checkSums recomputes both checksums independently of the builder: a
// correct header sums to 0xffff in one's complement.
func checkSums(t *testing.T, frame []byte) {
	t.Helper()
	ones := func(chunks ...[]byte) uint16 {
		var s uint64
		for _, c := range chunks {
			for i := 0; i < len(c); i += 2 {
				s += uint64(binary.BigEndian.Uint16(c[i:]))
			}
		}
		for s>>16 != 0 {
			s = s&0xffff + s>>16
		}
		return uint16(s)
	}
	l3 := frame[14:]
	var pseudo []byte
	var seg []byte
	if l3[0]>>4 == 4 {
		if got := ones(l3[:20]); got != 0xffff {
			t.Errorf("ipv4 header sums to %#04x, want 0xffff", got)
		}
		seg = l3[20:]
		pseudo = append(append([]byte{}, l3[12:20]...), 0, 6, 0, byte(len(seg)))
	} else {
		seg = l3[40:]
		pseudo = append(append([]byte{}, l3[8:40]...), 0, 0, 0, byte(len(seg)), 0, 0, 0, 6)
	}
	if got := ones(pseudo, seg); got != 0xffff {
		t.Errorf("tcp segment with pseudo-header sums to %#04x, want 0xffff", got)
	}
}

// checkReserialized has gopacket write the decoded layers again, with its
// own lengths and checksums; the bytes must be ours exactly, except for
// the padding gopacket adds up to the 60-byte Ethernet minimum (drivers
// pad on the wire; the builder does not).
func checkReserialized(t *testing.T, p gopacket.Packet, frame []byte) {
	t.Helper()
	var stack []gopacket.SerializableLayer
	for _, l := range p.Layers() {
		stack = append(stack, l.(gopacket.SerializableLayer))
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, stack...); err != nil {
		t.Fatalf("reserialize: %v", err)
	}
	out := buf.Bytes()
	if len(out) != max(len(frame), 60) || !bytes.Equal(out[:len(frame)], frame) ||
		!bytes.Equal(out[len(frame):], make([]byte, len(out)-len(frame))) {
		t.Errorf("gopacket writes\n% x\nbuilder wrote\n% x", out, frame)
	}
}

// build answers the captured frame of fixture f with default options.
func build(t *testing.T, f pkt, o BuildOptions) [][]byte {
	t.Helper()
	o.SrcMAC, o.DstMAC = mgmtSrc, mgmtDst
	frames, err := BuildResets(triggerOf(t, f.serialize(t)), o, nil)
	if err != nil {
		t.Fatalf("BuildResets: %v", err)
	}
	return frames
}

func TestBuildResetsEveryField(t *testing.T) {
	tests := []struct {
		name string
		fix  pkt
		opts BuildOptions
		want []want
	}{
		{"payload tagged", fixPayload, BuildOptions{IPID: 7, DstTTL: 57}, []want{
			{src: epC, dst: epS, seq: 1100, flags: FlagRST, ttl: 61, id: 7},
			{src: epS, dst: epC, seq: 5000, flags: FlagRST, ttl: 57, id: 8},
		}},
		{"fin", fixFIN, BuildOptions{IPID: 0xffff}, []want{
			{src: epC, dst: epS, seq: 1101, flags: FlagRST, ttl: 61, id: 0xffff},
			{src: epS, dst: epC, seq: 5000, flags: FlagRST, ttl: 64, id: 0},
		}},
		{"syn", fixSYN, BuildOptions{DefaultTTL: 128}, []want{
			{src: epC, dst: epS, seq: 7001, flags: FlagRST, ttl: 60},
			{src: epS, dst: epC, ack: 7001, flags: rstACK, ttl: 128, id: 1},
		}},
		{"syn-ack fixed ttl", fixSYNACK, BuildOptions{FixedTTL: 255, DstTTL: 9}, []want{
			{src: epS, dst: epC, seq: 9001, ack: 7001, flags: rstACK, ttl: 255},
			{src: epC, dst: epS, seq: 7001, flags: FlagRST, ttl: 255, id: 1},
		}},
		{"ipv6 payload", fixV6, BuildOptions{DstTTL: 50}, []want{
			{src: epC6, dst: epS6, seq: 1100, flags: FlagRST, ttl: 59},
			{src: epS6, dst: epC6, seq: 5000, flags: FlagRST, ttl: 50},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frames := build(t, tc.fix, tc.opts)
			if len(frames) != len(tc.want) {
				t.Fatalf("%d frames, want %d", len(frames), len(tc.want))
			}
			for i, w := range tc.want {
				checkFrame(t, frames[i], w)
			}
		})
	}
}

// TestF7ExactSeq: the first RST each way carries the exact next sequence
// number, checksums computed.
func TestF7ExactSeq(t *testing.T) {
	for _, tc := range []struct {
		fix      pkt
		toS, toC uint32
	}{{fixPayload, 1100, 5000}, {fixFIN, 1101, 5000}} {
		frames := build(t, tc.fix, BuildOptions{})
		if len(frames) != 2 {
			t.Fatalf("%d frames, want 2", len(frames))
		}
		checkFrame(t, frames[0], want{src: epC, dst: epS, seq: tc.toS, flags: FlagRST,
			ttl: 61})
		checkFrame(t, frames[1], want{src: epS, dst: epC, seq: tc.toC, flags: FlagRST,
			ttl: 64, id: 1})
	}
}

// TestF8OneTriggerBothSides: one trigger, exactly one frame each way, the
// addresses and ports of the second mirrored from the first.
func TestF8OneTriggerBothSides(t *testing.T) {
	frames := build(t, fixPayload, BuildOptions{})
	if len(frames) != 2 {
		t.Fatalf("%d frames, want exactly 2", len(frames))
	}
	a, b := triggerOf(t, frames[0]), triggerOf(t, frames[1])
	if a.Src != b.Dst || a.Dst != b.Src || a.SrcPort != b.DstPort || a.DstPort != b.SrcPort {
		t.Errorf("frames not mirrored: %v:%d->%v:%d and %v:%d->%v:%d", a.Src, a.SrcPort,
			a.Dst, a.DstPort, b.Src, b.SrcPort, b.Dst, b.DstPort)
	}
	if a.Dst != addrS || b.Dst != addrC {
		t.Errorf("first frame to %v, second to %v; want S then C", a.Dst, b.Dst)
	}
	if a.SrcMAC != mgmtSrc || b.SrcMAC != mgmtSrc ||
		a.DstMAC != mgmtDst || b.DstMAC != mgmtDst {
		t.Errorf("MACs %x>%x and %x>%x, want management %x>%x", a.SrcMAC, a.DstMAC,
			b.SrcMAC, b.DstMAC, mgmtSrc, mgmtDst)
	}
}

// TestF10SynReset: a SYN and a SYN|ACK get RSTs a SYN-SENT client accepts.
func TestF10SynReset(t *testing.T) {
	tests := []struct {
		name string
		fix  pkt
		want []want
	}{
		{"syn", fixSYN, []want{
			{src: epC, dst: epS, seq: 7001, flags: FlagRST, ttl: 60},
			{src: epS, dst: epC, seq: 0, ack: 7001, flags: rstACK, ttl: 64, id: 1},
		}},
		{"syn-ack", fixSYNACK, []want{
			{src: epS, dst: epC, seq: 9001, ack: 7001, flags: rstACK, ttl: 63},
			{src: epC, dst: epS, seq: 7001, flags: FlagRST, ttl: 64, id: 1},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frames := build(t, tc.fix, BuildOptions{})
			if len(frames) != len(tc.want) {
				t.Fatalf("%d frames, want %d", len(frames), len(tc.want))
			}
			for i, w := range tc.want {
				checkFrame(t, frames[i], w)
			}
		})
	}
}

func TestBuildResetsOneWay(t *testing.T) {
	// A bare FIN (no ACK, no SYN) tells nothing about the receiver's
	// sequence space: only the receiver is reset.
	tr := Trigger{Src: addrC, Dst: addrS, SrcPort: 51000, DstPort: 443,
		Seq: 10, Flags: FlagFIN, TTL: 3}
	frames, err := BuildResets(tr, BuildOptions{SrcMAC: mgmtSrc, DstMAC: mgmtDst}, nil)
	if err != nil || len(frames) != 1 {
		t.Fatalf("BuildResets = %d frames, %v; want 1 frame", len(frames), err)
	}
	checkFrame(t, frames[0], want{src: epC, dst: epS, seq: 11, flags: FlagRST, ttl: 3})
}

func TestBuildResetsMappedAddresses(t *testing.T) {
	tr := Trigger{Src: netip.AddrFrom16(addrC.As16()), Dst: netip.AddrFrom16(addrS.As16()),
		SrcPort: 51000, DstPort: 443, Seq: 1000, Ack: 5000, Flags: FlagACK, TTL: 61}
	frames, err := BuildResets(tr, BuildOptions{SrcMAC: mgmtSrc, DstMAC: mgmtDst}, nil)
	if err != nil || len(frames) != 2 {
		t.Fatalf("BuildResets = %d frames, %v", len(frames), err)
	}
	checkFrame(t, frames[0], want{src: epC, dst: epS, seq: 1000, flags: FlagRST, ttl: 61})
}

func TestBuildResetsBadTrigger(t *testing.T) {
	tests := []struct {
		name string
		tr   Trigger
	}{
		{"no source", Trigger{Dst: addrS}},
		{"no destination", Trigger{Src: addrC}},
		{"mixed family", Trigger{Src: addrC, Dst: addrS6}},
		{"zone", Trigger{Src: addrC6.WithZone("eth0"), Dst: addrS6}},
	}
	for _, tc := range tests {
		frames, err := BuildResets(tc.tr, BuildOptions{}, make([][]byte, 2))
		if !errors.Is(err, ErrBadTrigger) || len(frames) != 0 {
			t.Errorf("%s: got %d frames, %v; want ErrBadTrigger", tc.name,
				len(frames), err)
		}
	}
}

func TestBuildResetsReusesBuffers(t *testing.T) {
	v4 := triggerOf(t, fixPayload.serialize(t))
	v6 := triggerOf(t, fixV6.serialize(t))
	frames, _ := BuildResets(v4, BuildOptions{}, nil)
	first := &frames[0][0]
	frames, _ = BuildResets(v6, BuildOptions{}, frames)
	if &frames[0][0] != first || len(frames[0]) != MaxFrameLen {
		t.Errorf("buffer not reused or wrong length %d", len(frames[0]))
	}
	allocs := testing.AllocsPerRun(20, func() {
		frames, _ = BuildResets(v4, BuildOptions{}, frames)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per build with reused buffers, want 0", allocs)
	}
}
