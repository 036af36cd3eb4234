package inject

import (
	"encoding/binary"
	"net/netip"
)

// Frame sizes: Ethernet, IPv4 or IPv6 without options, TCP without options.
const (
	ethLen  = 14
	ipv4Len = 20
	ipv6Len = 40
	tcpLen  = 20

	// MaxFrameLen is the size of the largest frame BuildResets writes (IPv6).
	MaxFrameLen = ethLen + ipv6Len + tcpLen
)

// DefaultTTL is the TTL or hop limit of a RST when nothing better is known.
const DefaultTTL = 64

// BuildOptions are the parts of a RST not taken from the trigger.
type BuildOptions struct {
	// SrcMAC and DstMAC head every frame. The Sender overwrites both with
	// the management interface's address and the next hop's.
	SrcMAC, DstMAC [6]byte

	// FixedTTL, when not zero, is the TTL (hop limit) of every RST.
	FixedTTL uint8

	// DstTTL is the TTL last observed from the trigger's destination, used
	// by the RST that impersonates it; zero when unknown.
	DstTTL uint8

	// DefaultTTL is used where nothing was observed; zero means DefaultTTL.
	DefaultTTL uint8

	// IPID is the IPv4 identification of the first frame; the second
	// frame gets IPID+1. Every frame has DF set, so the value is cosmetic.
	IPID uint16
}

// segment is one RST to write: addresses as on the wire, already unmapped.
type segment struct {
	src, dst   netip.AddrPort
	seq, ack   uint32
	flags, ttl uint8
}

// BuildResets writes the RSTs answering t and returns them, reusing the
// backing arrays of dst and of its elements (pass the previous result back
// in to build without allocating). For t from S to D it writes, in order:
//
//   - to D from S: RST with seq s+len (RST|ACK with ack a for a SYN|ACK,
//     whose receiver may still be in SYN-SENT);
//   - to S from D: RST with seq a when ACK is set, or RST|ACK with seq 0
//     and ack s+1 for a bare SYN; nothing when neither is set.
//
// len counts payload, SYN and FIN. A trigger carrying RST is still
// answered here; refusing echoes is the Tracker's job.
func BuildResets(t Trigger, o BuildOptions, dst [][]byte) ([][]byte, error) {
	if err := t.Validate(); err != nil {
		return dst[:0], err
	}
	var plan [2]segment
	n := planResets(t, o, &plan)
	out := dst[:0]
	for i := range n {
		var b []byte
		if i < cap(dst) {
			b = dst[:cap(dst)][i]
		}
		out = append(out, writeFrame(b[:0], plan[i], o, o.IPID+uint16(i)))
	}
	return out, nil
}

// planResets fills p with the RSTs for t and returns how many there are.
func planResets(t Trigger, o BuildOptions, p *[2]segment) int {
	src, dst := t.Tuple()
	p[0] = segment{
		src: src, dst: dst, seq: t.Seq + t.SegLen(), flags: FlagRST,
		ttl: pickTTL(o, t.TTL),
	}
	if t.Has(FlagSYN | FlagACK) {
		p[0].flags |= FlagACK
		p[0].ack = t.Ack
	}
	back := segment{src: dst, dst: src, ttl: pickTTL(o, o.DstTTL)}
	switch {
	case t.Has(FlagACK):
		back.seq, back.flags = t.Ack, FlagRST
	case t.Has(FlagSYN):
		back.ack, back.flags = t.Seq+1, FlagRST|FlagACK
	default:
		return 1
	}
	p[1] = back
	return 2
}

// pickTTL chooses the TTL of a RST impersonating a host last seen with
// observed (zero when never seen).
func pickTTL(o BuildOptions, observed uint8) uint8 {
	switch {
	case o.FixedTTL != 0:
		return o.FixedTTL
	case observed != 0:
		return observed
	case o.DefaultTTL != 0:
		return o.DefaultTTL
	}
	return DefaultTTL
}

// writeFrame appends the Ethernet frame of s to b.
func writeFrame(b []byte, s segment, o BuildOptions, id uint16) []byte {
	ipLen := ipv4Len
	etherType := uint16(0x0800)
	if !s.src.Addr().Is4() {
		ipLen, etherType = ipv6Len, 0x86dd
	}
	n := ethLen + ipLen + tcpLen
	if cap(b) < n {
		b = make([]byte, n, MaxFrameLen)
	}
	b = b[:n]
	copy(b[0:6], o.DstMAC[:])
	copy(b[6:12], o.SrcMAC[:])
	binary.BigEndian.PutUint16(b[12:14], etherType)
	ip, tcp := b[ethLen:ethLen+ipLen], b[ethLen+ipLen:]
	if ipLen == ipv4Len {
		writeIPv4(ip, s, id)
	} else {
		writeIPv6(ip, s)
	}
	writeTCP(tcp, s)
	return b
}

// writeIPv4 writes a 20-byte IPv4 header with DF set and its checksum.
func writeIPv4(h []byte, s segment, id uint16) {
	h[0], h[1] = 0x45, 0
	binary.BigEndian.PutUint16(h[2:4], ipv4Len+tcpLen)
	binary.BigEndian.PutUint16(h[4:6], id)
	binary.BigEndian.PutUint16(h[6:8], 0x4000) // DF, offset 0
	h[8], h[9] = s.ttl, 6
	h[10], h[11] = 0, 0
	src, dst := s.src.Addr().As4(), s.dst.Addr().As4()
	copy(h[12:16], src[:])
	copy(h[16:20], dst[:])
	binary.BigEndian.PutUint16(h[10:12], fold(sum(0, h)))
}

// writeIPv6 writes a 40-byte IPv6 header: traffic class and flow label 0.
func writeIPv6(h []byte, s segment) {
	binary.BigEndian.PutUint32(h[0:4], 6<<28)
	binary.BigEndian.PutUint16(h[4:6], tcpLen)
	h[6], h[7] = 6, s.ttl
	src, dst := s.src.Addr().As16(), s.dst.Addr().As16()
	copy(h[8:24], src[:])
	copy(h[24:40], dst[:])
}

// writeTCP writes a 20-byte TCP header, window 0, and its checksum over
// the pseudo-header of s's family.
func writeTCP(h []byte, s segment) {
	binary.BigEndian.PutUint16(h[0:2], s.src.Port())
	binary.BigEndian.PutUint16(h[2:4], s.dst.Port())
	binary.BigEndian.PutUint32(h[4:8], s.seq)
	binary.BigEndian.PutUint32(h[8:12], s.ack)
	h[12], h[13] = tcpLen/4<<4, s.flags
	clear(h[14:20]) // window, checksum, urgent pointer
	binary.BigEndian.PutUint16(h[16:18], fold(sum(pseudoSum(s), h)))
}

// pseudoSum is the unfolded one's-complement sum of the TCP pseudo-header.
func pseudoSum(s segment) uint32 {
	var acc uint32
	if s.src.Addr().Is4() {
		src, dst := s.src.Addr().As4(), s.dst.Addr().As4()
		acc = sum(sum(0, src[:]), dst[:])
	} else {
		src, dst := s.src.Addr().As16(), s.dst.Addr().As16()
		acc = sum(sum(0, src[:]), dst[:])
	}
	return acc + 6 + tcpLen // protocol and TCP length
}

// sum adds b to acc as big-endian 16-bit words (b has even length here).
func sum(acc uint32, b []byte) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		acc += uint32(b[i])<<8 | uint32(b[i+1])
	}
	return acc
}

// fold folds a one's-complement sum to 16 bits and complements it.
func fold(acc uint32) uint16 {
	for acc > 0xffff {
		acc = acc&0xffff + acc>>16
	}
	return ^uint16(acc)
}
