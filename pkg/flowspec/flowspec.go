// Package flowspec is the block signal of softips: a TCP flow pattern
// "<srca/mask> <srcp> <dsta/mask> <dstp>" where port 0 and the zero-length
// prefix (0.0.0.0/0, ::/0) are wildcards. A Spec matches a packet in either
// direction, like the pcap-filter primitives host and port.
//
// It parses strictly (host bits under a mask, ports over 65535, mixed
// address families and the all-wildcard spec are errors, never silently
// repaired), formats canonically, and renders pcap-filter text for people
// and cross-checks. It must never do I/O or log.
package flowspec

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ErrAllWildcard is returned for a spec with no fixed field: it would match
// every TCP packet and is never a valid block.
var ErrAllWildcard = errors.New("all four fields are wildcards")

// ErrMixedFamily is returned when the two addresses are of different families.
var ErrMixedFamily = errors.New("source and destination address families differ")

// Spec is one block signal or block-table key. Both prefixes are masked
// (no host bits) and of one family; a zero-bit prefix is a wildcard.
type Spec struct {
	Src     netip.Prefix
	SrcPort uint16
	Dst     netip.Prefix
	DstPort uint16
}

// Tuple is the address and port part of one TCP packet.
type Tuple struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
}

// FieldError names the field (1-4) of a spec that failed to parse and why.
type FieldError struct {
	Field int    // 1-based position in the spec text
	Name  string // "source address", "source port", ...
	Text  string // the offending text
	Err   error
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("field %d (%s) %q: %v", e.Field, e.Name, clip(e.Text), e.Err)
}

func (e *FieldError) Unwrap() error { return e.Err }

var fieldNames = [4]string{"source address", "source port", "destination address",
	"destination port"}

// Parse reads the text form of a spec. Fields are separated by blanks; an
// address without a mask is a host (/32 or /128).
func Parse(s string) (Spec, error) {
	f := strings.Fields(s)
	if len(f) != 4 {
		return Spec{}, fmt.Errorf("parse spec %q: want 4 fields "+
			"\"<srca/mask> <srcp> <dsta/mask> <dstp>\", got %d", clip(s), len(f))
	}
	var sp Spec
	var err error
	if sp.Src, err = parsePrefix(f[0]); err != nil {
		return Spec{}, &FieldError{1, fieldNames[0], f[0], err}
	}
	if sp.SrcPort, err = parsePort(f[1]); err != nil {
		return Spec{}, &FieldError{2, fieldNames[1], f[1], err}
	}
	if sp.Dst, err = parsePrefix(f[2]); err != nil {
		return Spec{}, &FieldError{3, fieldNames[2], f[2], err}
	}
	if sp.DstPort, err = parsePort(f[3]); err != nil {
		return Spec{}, &FieldError{4, fieldNames[3], f[3], err}
	}
	if err := sp.Validate(); err != nil {
		return Spec{}, fmt.Errorf("parse spec %q: %w", clip(s), err)
	}
	return sp, nil
}

// clip shortens text quoted back in an error, so a 10 KB argument does not
// become a 10 KB log line.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:61] + "..."
}

// MustParse is Parse for constants in tests and tables; it panics on error.
func MustParse(s string) Spec {
	sp, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return sp
}

// Validate checks the invariants Parse guarantees, for specs built in code
// or decoded from JSON.
func (s Spec) Validate() error {
	if !s.Src.IsValid() || !s.Dst.IsValid() {
		return errors.New("address missing")
	}
	if s.Src.Addr().Is4() != s.Dst.Addr().Is4() {
		return fmt.Errorf("%w (%s and %s)", ErrMixedFamily, s.Src, s.Dst)
	}
	if s.Src != s.Src.Masked() || s.Dst != s.Dst.Masked() {
		return errors.New("host bits set under the mask")
	}
	if s.Invariants() == 0 {
		return ErrAllWildcard
	}
	return nil
}

func parsePrefix(t string) (netip.Prefix, error) {
	if !strings.Contains(t, "/") {
		a, err := netip.ParseAddr(t)
		if err != nil {
			return netip.Prefix{}, errors.New("not an IP address")
		}
		if a.Zone() != "" {
			return netip.Prefix{}, errors.New("zoned addresses are not allowed")
		}
		a = a.Unmap()
		if err := unicast(a, a.BitLen()); err != nil {
			return netip.Prefix{}, err
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(t)
	if err != nil {
		return netip.Prefix{}, errors.New("not an address/mask prefix")
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, errors.New("IPv4-mapped IPv6 prefixes are not allowed")
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("host bits set under /%d (did you mean %s?)",
			p.Bits(), m)
	}
	if p.Bits() > 0 {
		if err := unicast(p.Addr(), p.Bits()); err != nil {
			return netip.Prefix{}, err
		}
	}
	return p, nil
}

// unicast refuses addresses no TCP endpoint can have: multicast ranges,
// and as a host the unspecified address and IPv4 broadcast.
func unicast(a netip.Addr, bits int) error {
	host := bits == a.BitLen()
	switch {
	case a.IsMulticast():
		return errors.New("multicast address: TCP never uses it")
	case host && a.IsUnspecified():
		return errors.New("unspecified address as a host (a wildcard is 0.0.0.0/0 or ::/0)")
	case host && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return errors.New("broadcast address: TCP never uses it")
	}
	return nil
}

func parsePort(t string) (uint16, error) {
	n, err := strconv.ParseUint(t, 10, 32)
	if err != nil {
		return 0, errors.New("not a decimal port number")
	}
	if n > 65535 {
		return 0, errors.New("port above 65535")
	}
	return uint16(n), nil
}

// String formats the spec canonically: hosts without a mask, wildcards as
// 0.0.0.0/0 (::/0) and port 0. Parse(s.String()) == s.
func (s Spec) String() string {
	return fmt.Sprintf("%s %d %s %d", prefixText(s.Src), s.SrcPort,
		prefixText(s.Dst), s.DstPort)
}

func prefixText(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// Is6 reports whether the spec is for IPv6.
func (s Spec) Is6() bool { return s.Src.Addr().Is6() }

// Invariants counts the fixed (non-wildcard) fields, 0 to 4.
func (s Spec) Invariants() int {
	n := 0
	for _, fixed := range [4]bool{s.Src.Bits() > 0, s.SrcPort != 0, s.Dst.Bits() > 0,
		s.DstPort != 0} {
		if fixed {
			n++
		}
	}
	return n
}

// Host is the prefix holding exactly a (an IPv4-mapped address unmapped).
func Host(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen())
}

// Exact is the spec of one flow as seen from src to dst: both hosts and
// both ports fixed.
func Exact(src, dst netip.AddrPort) Spec {
	return Spec{Src: Host(src.Addr()), SrcPort: src.Port(), Dst: Host(dst.Addr()),
		DstPort: dst.Port()}
}

// Reverse swaps the source and destination sides.
func (s Spec) Reverse() Spec {
	return Spec{Src: s.Dst, SrcPort: s.DstPort, Dst: s.Src, DstPort: s.SrcPort}
}

// Matches reports whether a packet with tuple t matches s in either
// direction. Packets of the other address family never match.
func (s Spec) Matches(t Tuple) bool {
	return s.matchesOneWay(t) || s.Reverse().matchesOneWay(t)
}

func (s Spec) matchesOneWay(t Tuple) bool {
	return s.Src.Contains(t.Src.Unmap()) && s.Dst.Contains(t.Dst.Unmap()) &&
		portMatches(s.SrcPort, t.SrcPort) && portMatches(s.DstPort, t.DstPort)
}

func portMatches(spec, pkt uint16) bool { return spec == 0 || spec == pkt }

// Covers reports whether every packet that o matches is matched by s too.
func (s Spec) Covers(o Spec) bool {
	if s.Is6() != o.Is6() {
		return false
	}
	return s.coversOneWay(o) || s.Reverse().coversOneWay(o)
}

func (s Spec) coversOneWay(o Spec) bool {
	return prefixCovers(s.Src, o.Src) && prefixCovers(s.Dst, o.Dst) &&
		(s.SrcPort == 0 || s.SrcPort == o.SrcPort) &&
		(s.DstPort == 0 || s.DstPort == o.DstPort)
}

func prefixCovers(outer, inner netip.Prefix) bool {
	return outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr())
}
