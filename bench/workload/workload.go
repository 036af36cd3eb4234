// Package workload builds the deterministic inputs every softips
// classifier benchmark shares: a block table of N entries in a realistic
// mix of shapes, and the hit and miss frames that are looked up in it.
//
// The same seed and N always give the same table, so libpcap, the XDP
// classifier and any later implementation are measured on identical work.
// Table addresses come from 10.0.0.0/8 and fd00::/8; they are data only,
// never the target of a packet. It must never do I/O.
package workload

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/softips/softips/pkg/flowspec"
)

// Seed is the default seed of the table generator.
const Seed = 20261204

// Shape is one kind of block entry, named by its fixed fields.
type Shape int

// The shapes of the mix, in the order of Mix.
const (
	Host      Shape = iota // host A
	HostPort               // host A and port P
	PairPort               // host A and host B and port P
	FourTuple              // all four fields fixed
	Net24                  // net A/24
	Net24Port              // net A/24 and port P
	nShapes
)

var shapeNames = [nShapes]string{"host", "host+port", "pair+port", "4-tuple", "/24",
	"/24+port"}

func (s Shape) String() string {
	if s < 0 || s >= nShapes {
		return fmt.Sprintf("shape(%d)", int(s))
	}
	return shapeNames[s]
}

// Mix is the share of each shape in percent, Host first. It leans on the
// narrow shapes detection emits, with some wider derived and admin entries.
var Mix = [nShapes]int{25, 25, 20, 15, 10, 5}

// V6Percent is the share of IPv6 entries.
const V6Percent = 10

// The hit and miss frames. The hit is the C->S packet of known-faults.md
// (ACK|PSH seq 1000 ack 5000, 100 bytes of payload); the miss is the same
// packet to a neighbouring server address that no entry covers.
var (
	HitTuple = flowspec.Tuple{Src: netip.MustParseAddr("203.0.113.10"),
		Dst: netip.MustParseAddr("198.51.100.20"), SrcPort: 51000, DstPort: 443}
	MissTuple = flowspec.Tuple{Src: netip.MustParseAddr("203.0.113.10"),
		Dst: netip.MustParseAddr("198.51.100.21"), SrcPort: 51000, DstPort: 443}
	// HitSpec is the entry that HitTuple matches: pair+port, the shape a
	// signature alert produces.
	HitSpec = flowspec.MustParse("203.0.113.10 0 198.51.100.20 443")
	// AddSpec is the entry added to a full table to time one insertion; it
	// matches neither frame and no generated entry equals it.
	AddSpec = flowspec.MustParse("198.51.100.99 0 0.0.0.0/0 25")
)

// Table returns n distinct specs drawn from seed in the proportions of Mix,
// with HitSpec at position n/2 (so a hit in a linear filter costs about
// half a miss). No generated entry matches HitTuple or MissTuple.
func Table(n int, seed uint64) []flowspec.Spec {
	if n <= 0 {
		return nil
	}
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	seen := make(map[flowspec.Spec]bool, n)
	seen[HitSpec], seen[AddSpec] = true, true
	out := make([]flowspec.Spec, 0, n)
	for len(out) < n-1 {
		s := randomSpec(r)
		if seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	mid := n / 2
	out = append(out, flowspec.Spec{})
	copy(out[mid+1:], out[mid:])
	out[mid] = HitSpec
	return out
}

// ShapeOf classifies a spec of the table into its shape.
func ShapeOf(s flowspec.Spec) Shape {
	if s.Src.IsSingleIP() {
		switch {
		case s.SrcPort != 0:
			return FourTuple
		case s.Dst.IsSingleIP():
			return PairPort
		case s.DstPort != 0:
			return HostPort
		}
		return Host
	}
	if s.DstPort != 0 {
		return Net24Port
	}
	return Net24
}

func pickShape(r *rand.Rand) Shape {
	x := r.IntN(100)
	for s, pct := range Mix {
		if x < pct {
			return Shape(s)
		}
		x -= pct
	}
	return Host
}

// commonPorts makes port-bearing entries repeat the services real blocks
// name; the rest are spread over the ephemeral range.
var commonPorts = []uint16{22, 23, 25, 80, 445, 3389, 8080, 8443}

func randomPort(r *rand.Rand) uint16 {
	if r.IntN(2) == 0 {
		return commonPorts[r.IntN(len(commonPorts))]
	}
	return uint16(1024 + r.IntN(64511))
}

func randomAddr(r *rand.Rand, v6 bool) netip.Addr {
	if v6 {
		var b [16]byte
		b[0] = 0xfd
		for i := 1; i < 16; i++ {
			b[i] = byte(r.UintN(256))
		}
		return netip.AddrFrom16(b)
	}
	return netip.AddrFrom4([4]byte{10, byte(r.UintN(256)), byte(r.UintN(256)),
		byte(r.UintN(256))})
}

func host(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, a.BitLen()) }

func anyOf(v6 bool) netip.Prefix {
	if v6 {
		return netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
}

func net24(a netip.Addr) netip.Prefix {
	bits := 24
	if a.Is6() {
		bits = 56
	}
	return netip.PrefixFrom(a, bits).Masked()
}

func randomSpec(r *rand.Rand) flowspec.Spec {
	v6 := r.IntN(100) < V6Percent
	a, b := randomAddr(r, v6), randomAddr(r, v6)
	switch pickShape(r) {
	case HostPort:
		return flowspec.Spec{Src: host(a), Dst: anyOf(v6), DstPort: randomPort(r)}
	case PairPort:
		return flowspec.Spec{Src: host(a), Dst: host(b), DstPort: randomPort(r)}
	case FourTuple:
		return flowspec.Spec{Src: host(a), SrcPort: uint16(1024 + r.IntN(64511)),
			Dst: host(b), DstPort: randomPort(r)}
	case Net24:
		return flowspec.Spec{Src: net24(a), Dst: anyOf(v6)}
	case Net24Port:
		return flowspec.Spec{Src: net24(a), Dst: anyOf(v6), DstPort: randomPort(r)}
	}
	return flowspec.Spec{Src: host(a), Dst: anyOf(v6)}
}

// Frame renders t as an untagged Ethernet frame carrying a TCP ACK|PSH
// segment, seq 1000 ack 5000, with payload bytes of zeros and valid
// checksums.
func Frame(t flowspec.Tuple, payload int) ([]byte, error) {
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 0x0a},
		DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 0x14}}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(t.SrcPort), DstPort: layers.TCPPort(t.DstPort),
		Seq: 1000, Ack: 5000, ACK: true, PSH: true, Window: 512}
	var ip gopacket.SerializableLayer
	if t.Src.Is4() {
		eth.EthernetType = layers.EthernetTypeIPv4
		v4 := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP,
			SrcIP: t.Src.AsSlice(), DstIP: t.Dst.AsSlice()}
		_ = tcp.SetNetworkLayerForChecksum(v4)
		ip = v4
	} else {
		eth.EthernetType = layers.EthernetTypeIPv6
		v6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP,
			SrcIP: t.Src.AsSlice(), DstIP: t.Dst.AsSlice()}
		_ = tcp.SetNetworkLayerForChecksum(v6)
		ip = v6
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	err := gopacket.SerializeLayers(buf, opts, eth, ip, tcp,
		gopacket.Payload(make([]byte, payload)))
	if err != nil {
		return nil, fmt.Errorf("serialize frame %v: %w", t, err)
	}
	return buf.Bytes(), nil
}

// MissTuples returns k distinct tuples that no table entry covers: clients
// in 203.0.113.0/24 to servers in 198.51.100.0/24 (never the hit server),
// on assorted ports. A classifier that answers misses from hashed buckets
// may be fast for one miss and slow for another; k of them show the spread.
func MissTuples(k int) []flowspec.Tuple {
	out := make([]flowspec.Tuple, 0, k)
	for i := 0; len(out) < k; i++ {
		t := flowspec.Tuple{Src: netip.AddrFrom4([4]byte{203, 0, 113, byte(10 + i*37%200)}),
			Dst:     netip.AddrFrom4([4]byte{198, 51, 100, byte(21 + i*53%200)}),
			SrcPort: uint16(40000 + i*131), DstPort: commonPorts[i%len(commonPorts)]}
		if t.Dst != HitTuple.Dst {
			out = append(out, t)
		}
	}
	return out
}

// HitFrame is Frame(HitTuple, 100).
func HitFrame() ([]byte, error) { return Frame(HitTuple, 100) }

// MissFrame is Frame(MissTuple, 100).
func MissFrame() ([]byte, error) { return Frame(MissTuple, 100) }
