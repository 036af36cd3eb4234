//go:build linux

package e2e

import (
	"encoding/binary"
	"net"
	"net/netip"
)

// TCP flag bits (byte 13 of the TCP header).
const (
	FlagFIN = 0x01
	FlagSYN = 0x02
	FlagRST = 0x04
	FlagPSH = 0x08
	FlagACK = 0x10
)

const (
	etherLen   = 14
	ipv4Len    = 20
	ipv6Len    = 40
	tcpMinLen  = 20
	protoTCP   = 6
	etherIPv4  = 0x0800
	etherIPv6  = 0x86dd
	defaultTTL = 64
)

// Segment is the part of a captured Ethernet/IP/TCP frame the tests judge.
type Segment struct {
	Src, Dst   netip.AddrPort
	Seq, Ack   uint32
	Flags      uint8
	Payload    int  // TCP payload length
	FrameLen   int  // whole frame, as on the wire
	ChecksumOK bool // IPv4 header and TCP checksums both verify
}

// Has reports whether every bit of f is set.
func (s Segment) Has(f uint8) bool { return s.Flags&f == f }

// ParseSegment decodes an untagged Ethernet frame carrying TCP over IPv4
// or IPv6 (no extension headers); ok is false for anything else.
func ParseSegment(frame []byte) (seg Segment, ok bool) {
	if len(frame) < etherLen {
		return Segment{}, false
	}
	ip := frame[etherLen:]
	switch binary.BigEndian.Uint16(frame[12:14]) {
	case etherIPv4:
		seg, ok = parse4(ip)
	case etherIPv6:
		seg, ok = parse6(ip)
	}
	seg.FrameLen = len(frame)
	return seg, ok
}

func parse4(ip []byte) (Segment, bool) {
	if len(ip) < ipv4Len || ip[0]>>4 != 4 || ip[9] != protoTCP {
		return Segment{}, false
	}
	ihl := int(ip[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ip[2:4]))
	if ihl < ipv4Len || total < ihl+tcpMinLen || total > len(ip) {
		return Segment{}, false
	}
	src := netip.AddrFrom4([4]byte(ip[12:16]))
	dst := netip.AddrFrom4([4]byte(ip[16:20]))
	seg, ok := parseTCP(ip[ihl:total], src, dst)
	seg.ChecksumOK = seg.ChecksumOK && checksum(ip[:ihl], 0) == 0
	return seg, ok
}

func parse6(ip []byte) (Segment, bool) {
	if len(ip) < ipv6Len || ip[0]>>4 != 6 || ip[6] != protoTCP {
		return Segment{}, false
	}
	plen := int(binary.BigEndian.Uint16(ip[4:6]))
	if plen < tcpMinLen || ipv6Len+plen > len(ip) {
		return Segment{}, false
	}
	src := netip.AddrFrom16([16]byte(ip[8:24]))
	dst := netip.AddrFrom16([16]byte(ip[24:40]))
	return parseTCP(ip[ipv6Len:ipv6Len+plen], src, dst)
}

func parseTCP(tcp []byte, src, dst netip.Addr) (Segment, bool) {
	off := int(tcp[12]>>4) * 4
	if off < tcpMinLen || off > len(tcp) {
		return Segment{}, false
	}
	return Segment{
		Src:        netip.AddrPortFrom(src, binary.BigEndian.Uint16(tcp[0:2])),
		Dst:        netip.AddrPortFrom(dst, binary.BigEndian.Uint16(tcp[2:4])),
		Seq:        binary.BigEndian.Uint32(tcp[4:8]),
		Ack:        binary.BigEndian.Uint32(tcp[8:12]),
		Flags:      tcp[13],
		Payload:    len(tcp) - off,
		ChecksumOK: checksum(tcp, pseudoSum(src, dst, len(tcp))) == 0,
	}, true
}

// pseudoSum is the unfolded sum of the TCP pseudo-header.
func pseudoSum(src, dst netip.Addr, tcpLen int) uint32 {
	var sum uint32
	for _, b := range [][]byte{src.AsSlice(), dst.AsSlice()} {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
	}
	return sum + protoTCP + uint32(tcpLen)
}

// checksum folds the internet checksum of b on top of sum; over data whose
// checksum field is filled in correctly it returns 0.
func checksum(b []byte, sum uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// BuildRST returns an Ethernet frame carrying a bare TCP segment with the
// given flags (RST, or RST|ACK) from src to dst, checksums computed. Both
// addresses must be of one family.
func BuildRST(srcMAC, dstMAC net.HardwareAddr, src, dst netip.AddrPort,
	seq, ack uint32, flags uint8) []byte {
	tcp := make([]byte, tcpMinLen)
	binary.BigEndian.PutUint16(tcp[0:], src.Port())
	binary.BigEndian.PutUint16(tcp[2:], dst.Port())
	binary.BigEndian.PutUint32(tcp[4:], seq)
	binary.BigEndian.PutUint32(tcp[8:], ack)
	tcp[12] = tcpMinLen / 4 << 4
	tcp[13] = flags
	sum := pseudoSum(src.Addr(), dst.Addr(), len(tcp))
	binary.BigEndian.PutUint16(tcp[16:], checksum(tcp, sum))

	frame := make([]byte, etherLen, etherLen+ipv6Len+tcpMinLen)
	copy(frame[0:6], dstMAC)
	copy(frame[6:12], srcMAC)
	if src.Addr().Is4() {
		binary.BigEndian.PutUint16(frame[12:], etherIPv4)
		frame = append(frame, ipv4Header(src.Addr(), dst.Addr(), len(tcp))...)
	} else {
		binary.BigEndian.PutUint16(frame[12:], etherIPv6)
		frame = append(frame, ipv6Header(src.Addr(), dst.Addr(), len(tcp))...)
	}
	return append(frame, tcp...)
}

func ipv4Header(src, dst netip.Addr, payload int) []byte {
	h := make([]byte, ipv4Len)
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(ipv4Len+payload))
	h[8] = defaultTTL
	h[9] = protoTCP
	copy(h[12:16], src.AsSlice())
	copy(h[16:20], dst.AsSlice())
	binary.BigEndian.PutUint16(h[10:], checksum(h, 0))
	return h
}

func ipv6Header(src, dst netip.Addr, payload int) []byte {
	h := make([]byte, ipv6Len)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(payload))
	h[6] = protoTCP
	h[7] = defaultTTL
	copy(h[8:24], src.AsSlice())
	copy(h[24:40], dst.AsSlice())
	return h
}
