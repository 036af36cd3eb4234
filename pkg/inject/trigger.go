package inject

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// TCP flag bits of the flag byte (offset 13 of the TCP header).
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

// ErrBadTrigger is wrapped by every error about an unusable Trigger.
var ErrBadTrigger = errors.New("bad trigger")

// Trigger is a captured packet that matched a block entry, as the kernel
// reported it: the packet's own view, sender S (Src) to receiver D (Dst).
type Trigger struct {
	Src, Dst         netip.Addr // IPv4 or IPv6, both of one family
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            uint8  // TCP flag byte, FlagFIN..FlagCWR
	Window           uint16 // raw window field, unscaled
	PayloadLen       uint32 // TCP payload bytes, without SYN and FIN
	TTL              uint8  // TTL or hop limit of the packet as observed
	SrcMAC, DstMAC   [6]byte
	VLANs            [2]uint16 // 802.1Q IDs on the mirror, outer first; 0 = none
	EntryID          uint64    // block entry that matched
	Time             time.Time // capture time

	// Late marks a trigger built from a segment seen a while ago (a
	// detection verdict, not a kernel tag): its numbers may be stale by
	// now, so the flow gets a probe once it is quiet (see probe.go).
	Late bool
}

// Has reports whether every bit of flags is set in the trigger.
func (t Trigger) Has(flags uint8) bool { return t.Flags&flags == flags }

// SegLen is the sequence space the packet occupies: payload plus one for
// SYN and one for FIN.
func (t Trigger) SegLen() uint32 {
	n := t.PayloadLen
	if t.Has(FlagSYN) {
		n++
	}
	if t.Has(FlagFIN) {
		n++
	}
	return n
}

// Tuple returns the addresses and ports of the trigger, IPv4-mapped IPv6
// addresses unmapped.
func (t Trigger) Tuple() (src, dst netip.AddrPort) {
	return netip.AddrPortFrom(t.Src.Unmap(), t.SrcPort),
		netip.AddrPortFrom(t.Dst.Unmap(), t.DstPort)
}

// Validate reports why t cannot be answered, or nil.
func (t Trigger) Validate() error {
	src, dst := t.Src.Unmap(), t.Dst.Unmap()
	switch {
	case !src.IsValid():
		return fmt.Errorf("%w: source address missing", ErrBadTrigger)
	case !dst.IsValid():
		return fmt.Errorf("%w: destination address missing", ErrBadTrigger)
	case src.Is4() != dst.Is4():
		return fmt.Errorf("%w: source %s and destination %s differ in family",
			ErrBadTrigger, src, dst)
	case src.Zone() != "" || dst.Zone() != "":
		return fmt.Errorf("%w: %s -> %s: zoned address", ErrBadTrigger, src, dst)
	}
	return nil
}
