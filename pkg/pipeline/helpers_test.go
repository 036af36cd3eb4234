package pipeline

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Endpoints of the known-faults notation: client C and server S.
var (
	addrC = netip.MustParseAddrPort("203.0.113.10:51000")
	addrS = netip.MustParseAddrPort("198.51.100.20:443")
	macC  = net.HardwareAddr{2, 0, 0, 0, 0, 0x0a}
	macS  = net.HardwareAddr{2, 0, 0, 0, 0, 0x14}
	t0    = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
)

// seg describes one TCP segment to build.
type seg struct {
	src, dst netip.AddrPort
	seq, ack uint32
	flags    uint8
	data     string
	vlans    []uint16
	hopByHop bool // IPv6 only: put an 8-byte Hop-by-Hop header before TCP
}

// ipTCP serialises the IP and TCP layers of s, checksums computed.
func ipTCP(t testing.TB, s seg) []gopacket.SerializableLayer {
	t.Helper()
	tcp := &layers.TCP{
		SrcPort: layers.TCPPort(s.src.Port()), DstPort: layers.TCPPort(s.dst.Port()),
		Seq: s.seq, Ack: s.ack, Window: 512,
		FIN: s.flags&FlagFIN != 0, SYN: s.flags&FlagSYN != 0, RST: s.flags&FlagRST != 0,
		PSH: s.flags&FlagPSH != 0, ACK: s.flags&FlagACK != 0,
	}
	if s.src.Addr().Is4() {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP,
			SrcIP: s.src.Addr().AsSlice(), DstIP: s.dst.Addr().AsSlice()}
		tcp.SetNetworkLayerForChecksum(ip)
		return []gopacket.SerializableLayer{ip, tcp, gopacket.Payload(s.data)}
	}
	ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP,
		SrcIP: s.src.Addr().AsSlice(), DstIP: s.dst.Addr().AsSlice()}
	tcp.SetNetworkLayerForChecksum(ip)
	if !s.hopByHop {
		return []gopacket.SerializableLayer{ip, tcp, gopacket.Payload(s.data)}
	}
	ip.NextHeader = layers.IPProtocolIPv6HopByHop
	hbh := gopacket.Payload{byte(layers.IPProtocolTCP), 0, 1, 4, 0, 0, 0, 0}
	return []gopacket.SerializableLayer{ip, hbh, tcp, gopacket.Payload(s.data)}
}

func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return buf.Bytes()
}

// l3 returns the raw IP datagram of s and its EtherType.
func l3(t testing.TB, s seg) ([]byte, uint16) {
	et := uint16(0x0800)
	if s.src.Addr().Is6() {
		et = 0x86dd
	}
	ls := ipTCP(t, s)
	if s.hopByHop { // the Hop-by-Hop bytes are a payload layer: fix lengths by hand
		b := serialize(t, ls[2:]...)
		hbh := ls[1].(gopacket.Payload)
		return serialize(t, ls[0], append(hbh, b...)), et
	}
	return serialize(t, ls...), et
}

// ether returns s as an Ethernet frame with its VLAN tags.
func ether(t testing.TB, s seg) []byte {
	ipb, et := l3(t, s)
	src, dst := macC, macS
	if s.src == addrS {
		src, dst = macS, macC
	}
	b := append(append([]byte{}, dst...), src...)
	for _, v := range s.vlans {
		b = binary.BigEndian.AppendUint16(b, 0x8100)
		b = binary.BigEndian.AppendUint16(b, v)
	}
	b = binary.BigEndian.AppendUint16(b, et)
	return append(b, ipb...)
}

// sll returns s as a Linux cooked (SLL, link type 113) frame.
func sll(t testing.TB, s seg) []byte {
	ipb, et := l3(t, s)
	b := []byte{0, 0, 0, 1, 0, 6}
	b = append(append(b, macC...), 0, 0)
	b = binary.BigEndian.AppendUint16(b, et)
	return append(b, ipb...)
}

// sll2 returns s as a Linux cooked v2 (SLL2, link type 276) frame.
func sll2(t testing.TB, s seg) []byte {
	ipb, et := l3(t, s)
	b := binary.BigEndian.AppendUint16(nil, et)
	b = append(b, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6)
	b = append(append(b, macC...), 0, 0)
	return append(b, ipb...)
}

// handshake returns the usual C->S conversation: 3-way handshake, a
// request, a reply and both FINs.
func handshake() []seg {
	return []seg{
		{src: addrC, dst: addrS, seq: 999, flags: FlagSYN},
		{src: addrS, dst: addrC, seq: 4999, ack: 1000, flags: FlagSYN | FlagACK},
		{src: addrC, dst: addrS, seq: 1000, ack: 5000, flags: FlagACK},
		{src: addrC, dst: addrS, seq: 1000, ack: 5000, flags: FlagACK | FlagPSH, data: "GET /evil"},
		{src: addrS, dst: addrC, seq: 5000, ack: 1009, flags: FlagACK | FlagPSH, data: "HTTP/1.1 200"},
		{src: addrC, dst: addrS, seq: 1009, ack: 5012, flags: FlagACK | FlagFIN},
		{src: addrS, dst: addrC, seq: 5012, ack: 1010, flags: FlagACK | FlagFIN},
	}
}

// trace is an Inspector that writes down what it sees, in a comparable form.
type trace struct {
	ev    []traceEvent
	ended []uint64
}

type traceEvent struct {
	src, dst    netip.AddrPort
	client      netip.AddrPort
	seq, ack    uint32
	flags       uint8
	toServer    bool
	established bool
	state       State
	stream      string
	newData     int
	gap         bool
}

func (tr *trace) Inspect(ev *Event) {
	te := traceEvent{src: ev.Src, dst: ev.Dst, client: ev.Flow.Client,
		toServer: ev.ToServer, established: ev.Established, state: ev.Flow.State,
		stream: string(ev.Stream), newData: ev.NewData, gap: ev.Gap}
	if ev.Packet != nil {
		te.seq, te.ack, te.flags = ev.Packet.Seq, ev.Packet.Ack, ev.Packet.Flags
	}
	tr.ev = append(tr.ev, te)
}

func (tr *trace) FlowEnd(f *Flow) { tr.ended = append(tr.ended, f.ID) }

// feed runs Ethernet frames of segs through a fresh worker.
func feed(t testing.TB, cfg Config, segs []seg) (*Worker, *trace) {
	tr := &trace{}
	w := NewWorker(cfg, 0, tr)
	for i, s := range segs {
		b := ether(t, s)
		w.HandleFrame(layers.LinkTypeEthernet, b, len(b), t0.Add(time.Duration(i)*time.Millisecond), i+1)
	}
	return w, tr
}

func netipPort(ap netip.AddrPort, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr(), port)
}
