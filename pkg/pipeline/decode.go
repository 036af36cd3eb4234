package pipeline

import (
	"encoding/binary"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// Reason says why a frame was not turned into a TCP packet. Reasons at or
// above ReasonMalformed mark broken frames; the others are traffic softips
// does not inspect.
type Reason uint8

// Decode outcomes. ReasonOK is a decoded TCP segment.
const (
	ReasonOK Reason = iota
	ReasonNotIP
	ReasonNotTCP
	ReasonFragment
	ReasonMalformed // first of the malformed reasons
	ReasonLinkType
	ReasonTruncLink
	ReasonVLANDepth
	ReasonTruncIP
	ReasonBadIPVersion
	ReasonBadIPHeader
	ReasonBadIPLength
	ReasonExtChain
	ReasonTruncTCP
	ReasonBadTCPOffset
	numReasons
)

var reasonNames = [numReasons]string{
	"ok", "not-ip", "not-tcp", "fragment", "malformed", "unknown-link-type",
	"truncated-link", "vlan-too-deep", "truncated-ip", "bad-ip-version",
	"bad-ip-header", "bad-ip-length", "ipv6-ext-chain", "truncated-tcp",
	"bad-tcp-offset",
}

// String returns the counter name of r.
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Malformed reports whether r marks a broken frame rather than
// uninspected traffic.
func (r Reason) Malformed() bool { return r >= ReasonMalformed }

// TCP flag bits as they appear in byte 13 of the TCP header.
const (
	FlagFIN uint8 = 0x01
	FlagSYN uint8 = 0x02
	FlagRST uint8 = 0x04
	FlagPSH uint8 = 0x08
	FlagACK uint8 = 0x10
	FlagURG uint8 = 0x20
	FlagECE uint8 = 0x40
	FlagCWR uint8 = 0x80
)

const (
	maxVLANTags   = 3 // 802.1Q, QinQ and one more before we give up
	maxExtHdrs    = 8 // IPv6 extension headers walked before giving up
	etherTypeV4   = 0x0800
	etherTypeV6   = 0x86dd
	protoTCP      = 6
	hdrHopByHop   = 0
	hdrRouting    = 43
	hdrFragment   = 44
	hdrAuth       = 51
	hdrNoNext     = 59
	hdrDestOpts   = 60
	hdrMobility   = 135
	noWindowScale = -1
)

// Packet is one decoded TCP segment. Payload aliases the frame; it is only
// valid while the frame is.
type Packet struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            uint8
	Window           uint16
	WScale           int8 // window scale option, -1 when absent
	MSS              uint16
	TTL              uint8
	IPv6             bool
	Payload          []byte // captured payload bytes
	PayloadLen       int    // payload length on the wire (>= len(Payload))
	SrcMAC, DstMAC   [6]byte
	HasMAC           bool // Ethernet frame: the MACs are valid
	VLANs            [maxVLANTags]uint16
	NVLAN            int
}

// SrcAddrPort returns the source endpoint of p.
func (p *Packet) SrcAddrPort() netip.AddrPort { return netip.AddrPortFrom(p.Src, p.SrcPort) }

// DstAddrPort returns the destination endpoint of p.
func (p *Packet) DstAddrPort() netip.AddrPort { return netip.AddrPortFrom(p.Dst, p.DstPort) }

// Truncated reports whether the snapshot lost payload bytes.
func (p *Packet) Truncated() bool { return len(p.Payload) < p.PayloadLen }

// Decode parses frame data of link type lt into p without allocating.
// It never panics on any input; a frame that is not a decodable TCP
// segment yields the reason.
func Decode(lt layers.LinkType, data []byte, p *Packet) Reason {
	p.HasMAC, p.NVLAN = false, 0
	switch lt {
	case layers.LinkTypeEthernet:
		return decodeEthernet(data, p)
	case layers.LinkTypeRaw, 12, 14:
		return decodeRawIP(data, p)
	case layers.LinkTypeIPv4:
		return decodeIPv4(data, p)
	case layers.LinkTypeIPv6:
		return decodeIPv6(data, p)
	case layers.LinkTypeLinuxSLL:
		if len(data) < 16 {
			return ReasonTruncLink
		}
		return decodeEtherType(binary.BigEndian.Uint16(data[14:16]), data[16:], p)
	case layers.LinkTypeLinuxSLL2:
		if len(data) < 20 {
			return ReasonTruncLink
		}
		return decodeEtherType(binary.BigEndian.Uint16(data[0:2]), data[20:], p)
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		return decodeNull(lt, data, p)
	}
	return ReasonLinkType
}

func decodeEthernet(data []byte, p *Packet) Reason {
	if len(data) < 14 {
		return ReasonTruncLink
	}
	copy(p.DstMAC[:], data[0:6])
	copy(p.SrcMAC[:], data[6:12])
	p.HasMAC = true
	return decodeEtherType(binary.BigEndian.Uint16(data[12:14]), data[14:], p)
}

// decodeEtherType follows 802.1Q/802.1ad tags to the IP header.
func decodeEtherType(et uint16, data []byte, p *Packet) Reason {
	for et == 0x8100 || et == 0x88a8 || et == 0x9100 {
		if p.NVLAN == maxVLANTags {
			return ReasonVLANDepth
		}
		if len(data) < 4 {
			return ReasonTruncLink
		}
		p.VLANs[p.NVLAN] = binary.BigEndian.Uint16(data[0:2]) & 0x0fff
		p.NVLAN++
		et = binary.BigEndian.Uint16(data[2:4])
		data = data[4:]
	}
	switch et {
	case etherTypeV4:
		return decodeIPv4(data, p)
	case etherTypeV6:
		return decodeIPv6(data, p)
	}
	return ReasonNotIP
}

// decodeNull reads the 4-byte address family of BSD loopback captures:
// host byte order for DLT_NULL, network order for DLT_LOOP.
func decodeNull(lt layers.LinkType, data []byte, p *Packet) Reason {
	if len(data) < 4 {
		return ReasonTruncLink
	}
	fam := binary.BigEndian.Uint32(data[0:4])
	if lt == layers.LinkTypeNull && fam > 0xffff {
		fam = binary.LittleEndian.Uint32(data[0:4])
	}
	switch fam {
	case 2:
		return decodeIPv4(data[4:], p)
	case 10, 24, 28, 30:
		return decodeIPv6(data[4:], p)
	}
	return ReasonNotIP
}

func decodeRawIP(data []byte, p *Packet) Reason {
	if len(data) < 1 {
		return ReasonTruncIP
	}
	switch data[0] >> 4 {
	case 4:
		return decodeIPv4(data, p)
	case 6:
		return decodeIPv6(data, p)
	}
	return ReasonBadIPVersion
}

func decodeIPv4(data []byte, p *Packet) Reason {
	if len(data) < 20 {
		return ReasonTruncIP
	}
	if data[0]>>4 != 4 {
		return ReasonBadIPVersion
	}
	hl := int(data[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(data[2:4]))
	if hl < 20 || total < hl {
		return ReasonBadIPHeader
	}
	if len(data) < hl {
		return ReasonTruncIP
	}
	if frag := binary.BigEndian.Uint16(data[6:8]); frag&0x3fff != 0 {
		return ReasonFragment
	}
	if data[9] != protoTCP {
		return ReasonNotTCP
	}
	p.IPv6, p.TTL = false, data[8]
	p.Src = netip.AddrFrom4([4]byte(data[12:16]))
	p.Dst = netip.AddrFrom4([4]byte(data[16:20]))
	return decodeTCP(clip(data, total)[hl:], total-hl, p)
}

// clip cuts link-layer padding after the IP datagram; a shorter slice
// (a truncated snapshot) stays as it is.
func clip(data []byte, n int) []byte {
	if len(data) > n {
		return data[:n]
	}
	return data
}

func decodeIPv6(data []byte, p *Packet) Reason {
	if len(data) < 40 {
		return ReasonTruncIP
	}
	if data[0]>>4 != 6 {
		return ReasonBadIPVersion
	}
	plen := int(binary.BigEndian.Uint16(data[4:6]))
	if plen == 0 {
		return ReasonBadIPLength // jumbograms are not supported
	}
	p.IPv6, p.TTL = true, data[7]
	p.Src = netip.AddrFrom16([16]byte(data[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(data[24:40]))
	body := clip(data[40:], plen)
	next, off, r := walkExtHeaders(data[6], body)
	if r != ReasonOK {
		return r
	}
	if next != protoTCP {
		return ReasonNotTCP
	}
	return decodeTCP(body[off:], plen-off, p)
}

// walkExtHeaders skips a bounded chain of IPv6 extension headers and
// returns the upper-layer protocol and its offset in body.
func walkExtHeaders(next byte, body []byte) (byte, int, Reason) {
	off := 0
	for i := 0; ; i++ {
		var n int
		switch next {
		case hdrHopByHop, hdrRouting, hdrDestOpts, hdrMobility:
			if len(body) < off+2 {
				return 0, 0, ReasonTruncIP
			}
			n = (int(body[off+1]) + 1) * 8
		case hdrAuth:
			if len(body) < off+2 {
				return 0, 0, ReasonTruncIP
			}
			n = (int(body[off+1]) + 2) * 4
		case hdrFragment:
			if len(body) < off+8 {
				return 0, 0, ReasonTruncIP
			}
			if binary.BigEndian.Uint16(body[off+2:off+4])&0xfff9 != 0 {
				return 0, 0, ReasonFragment
			}
			n = 8 // an atomic fragment: the whole datagram is here
		case hdrNoNext:
			return next, off, ReasonNotTCP
		default:
			return next, off, ReasonOK
		}
		if i == maxExtHdrs {
			return 0, 0, ReasonExtChain
		}
		if len(body) < off+n {
			return 0, 0, ReasonTruncIP
		}
		next, off = body[off], off+n
	}
}

// decodeTCP parses the TCP header in seg; wire is the segment length per
// the IP header, which exceeds len(seg) when the snapshot was truncated.
func decodeTCP(seg []byte, wire int, p *Packet) Reason {
	if len(seg) < 20 {
		return ReasonTruncTCP
	}
	hl := int(seg[12]>>4) * 4
	if hl < 20 || hl > wire {
		return ReasonBadTCPOffset
	}
	if len(seg) < hl {
		return ReasonTruncTCP
	}
	p.SrcPort = binary.BigEndian.Uint16(seg[0:2])
	p.DstPort = binary.BigEndian.Uint16(seg[2:4])
	p.Seq = binary.BigEndian.Uint32(seg[4:8])
	p.Ack = binary.BigEndian.Uint32(seg[8:12])
	p.Flags = seg[13]
	p.Window = binary.BigEndian.Uint16(seg[14:16])
	parseOptions(seg[20:hl], p)
	p.Payload = seg[hl:]
	p.PayloadLen = wire - hl
	return ReasonOK
}

// parseOptions reads MSS and window scale; malformed options end the walk
// without failing the segment.
func parseOptions(opt []byte, p *Packet) {
	p.WScale, p.MSS = noWindowScale, 0
	for len(opt) > 0 {
		kind := opt[0]
		if kind == 0 {
			return
		}
		if kind == 1 {
			opt = opt[1:]
			continue
		}
		if len(opt) < 2 || int(opt[1]) < 2 || int(opt[1]) > len(opt) {
			return
		}
		switch n := int(opt[1]); {
		case kind == 2 && n == 4:
			p.MSS = binary.BigEndian.Uint16(opt[2:4])
		case kind == 3 && n == 3:
			p.WScale = int8(min(opt[2], 14))
		}
		opt = opt[opt[1]:]
	}
}
