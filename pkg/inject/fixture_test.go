package inject

import (
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// The endpoints of known-faults.md: client C and server S, and the MACs of
// the management side that every built frame must carry instead of theirs.
var (
	macC    = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0a}
	macS    = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x14}
	addrC   = netip.MustParseAddr("203.0.113.10")
	addrS   = netip.MustParseAddr("198.51.100.20")
	addrC6  = netip.MustParseAddr("2001:db8::10")
	addrS6  = netip.MustParseAddr("2001:db8::20")
	mgmtSrc = [6]byte{0x02, 0, 0, 0, 0, 0x01}
	mgmtDst = [6]byte{0x02, 0, 0, 0, 0, 0xfe}
)

// pkt describes a captured TCP packet to build as a fixture.
type pkt struct {
	src, dst   netip.Addr
	sport      uint16
	dport      uint16
	seq, ack   uint32
	flags      uint8
	ttl        uint8
	payload    int
	vlan       uint16 // 0: untagged
	srcMAC     net.HardwareAddr
	dstMAC     net.HardwareAddr
	tcpOptions []layers.TCPOption
}

// serialize builds the frame of p with gopacket, checksums computed.
func (p pkt) serialize(t testing.TB) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: p.srcMAC, DstMAC: p.dstMAC}
	tcp := &layers.TCP{
		SrcPort: layers.TCPPort(p.sport), DstPort: layers.TCPPort(p.dport),
		Seq: p.seq, Ack: p.ack, Window: 502, Options: p.tcpOptions,
		FIN: p.flags&FlagFIN != 0, SYN: p.flags&FlagSYN != 0,
		RST: p.flags&FlagRST != 0, PSH: p.flags&FlagPSH != 0,
		ACK: p.flags&FlagACK != 0, URG: p.flags&FlagURG != 0,
	}
	var ip gopacket.SerializableLayer
	if p.src.Is4() {
		eth.EthernetType = layers.EthernetTypeIPv4
		v4 := &layers.IPv4{Version: 4, TTL: p.ttl, Protocol: layers.IPProtocolTCP,
			Flags: layers.IPv4DontFragment, Id: 4321,
			SrcIP: p.src.AsSlice(), DstIP: p.dst.AsSlice()}
		_ = tcp.SetNetworkLayerForChecksum(v4)
		ip = v4
	} else {
		eth.EthernetType = layers.EthernetTypeIPv6
		v6 := &layers.IPv6{Version: 6, HopLimit: p.ttl, NextHeader: layers.IPProtocolTCP,
			SrcIP: p.src.AsSlice(), DstIP: p.dst.AsSlice()}
		_ = tcp.SetNetworkLayerForChecksum(v6)
		ip = v6
	}
	stack := []gopacket.SerializableLayer{eth}
	if p.vlan != 0 {
		stack = append(stack, &layers.Dot1Q{VLANIdentifier: p.vlan,
			Type: eth.EthernetType})
		eth.EthernetType = layers.EthernetTypeDot1Q
	}
	stack = append(stack, ip, tcp, gopacket.Payload(make([]byte, p.payload)))
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, stack...); err != nil {
		t.Fatalf("serialize fixture: %v", err)
	}
	return buf.Bytes()
}

// triggerOf decodes a captured frame with gopacket the way the kernel
// reports a match: the test's independent view of what a Trigger holds.
func triggerOf(t testing.TB, frame []byte) Trigger {
	t.Helper()
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		t.Fatalf("decode fixture: %v", el.Error())
	}
	eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	tcp := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	tr := Trigger{
		SrcPort: uint16(tcp.SrcPort), DstPort: uint16(tcp.DstPort),
		Seq: tcp.Seq, Ack: tcp.Ack, Flags: tcpFlags(tcp), Window: tcp.Window,
		PayloadLen: uint32(len(tcp.Payload)),
	}
	copy(tr.SrcMAC[:], eth.SrcMAC)
	copy(tr.DstMAC[:], eth.DstMAC)
	for i, l := range p.Layers() {
		if q, ok := l.(*layers.Dot1Q); ok && i <= 2 {
			tr.VLANs[i-1] = q.VLANIdentifier
		}
	}
	if v4, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
		tr.Src, _ = netip.AddrFromSlice(v4.SrcIP)
		tr.Dst, _ = netip.AddrFromSlice(v4.DstIP)
		tr.TTL = v4.TTL
	} else {
		v6 := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
		tr.Src, _ = netip.AddrFromSlice(v6.SrcIP)
		tr.Dst, _ = netip.AddrFromSlice(v6.DstIP)
		tr.TTL = v6.HopLimit
	}
	return tr
}

// tcpFlags packs gopacket's flag booleans into the header's flag byte.
func tcpFlags(tcp *layers.TCP) uint8 {
	var f uint8
	for bit, on := range map[uint8]bool{
		FlagFIN: tcp.FIN, FlagSYN: tcp.SYN, FlagRST: tcp.RST, FlagPSH: tcp.PSH,
		FlagACK: tcp.ACK, FlagURG: tcp.URG, FlagECE: tcp.ECE, FlagCWR: tcp.CWR,
	} {
		if on {
			f |= bit
		}
	}
	return f
}

// The captured packets the unit tests answer.
var (
	// fixPayload: C->S ACK|PSH seq 1000 ack 5000 with 100 bytes, seen on
	// the mirror tagged VID 100 (F1, F7).
	fixPayload = pkt{src: addrC, dst: addrS, sport: 51000, dport: 443,
		seq: 1000, ack: 5000, flags: FlagACK | FlagPSH, ttl: 61, payload: 100,
		vlan: 100, srcMAC: macC, dstMAC: macS}
	// fixFIN: the same segment with FIN set (F7 variant).
	fixFIN = pkt{src: addrC, dst: addrS, sport: 51000, dport: 443,
		seq: 1000, ack: 5000, flags: FlagACK | FlagPSH | FlagFIN, ttl: 61,
		payload: 100, srcMAC: macC, dstMAC: macS}
	// fixSYN: C->S SYN seq 7000 with MSS and window scale 7 (F10).
	fixSYN = pkt{src: addrC, dst: addrS, sport: 51000, dport: 443,
		seq: 7000, flags: FlagSYN, ttl: 60, srcMAC: macC, dstMAC: macS,
		tcpOptions: []layers.TCPOption{
			{OptionType: layers.TCPOptionKindMSS, OptionLength: 4,
				OptionData: []byte{5, 0xb4}},
			{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3,
				OptionData: []byte{7}},
			{OptionType: layers.TCPOptionKindNop},
		}}
	// fixSYNACK: S->C SYN|ACK seq 9000 ack 7001 (F10 variant).
	fixSYNACK = pkt{src: addrS, dst: addrC, sport: 443, dport: 51000,
		seq: 9000, ack: 7001, flags: FlagSYN | FlagACK, ttl: 63,
		srcMAC: macS, dstMAC: macC}
	// fixV6: 2001:db8::10.51000 -> 2001:db8::20.443 ACK|PSH seq 1000 ack
	// 5000 with 100 bytes, hop limit 59.
	fixV6 = pkt{src: addrC6, dst: addrS6, sport: 51000, dport: 443,
		seq: 1000, ack: 5000, flags: FlagACK | FlagPSH, ttl: 59, payload: 100,
		srcMAC: macC, dstMAC: macS}
)
