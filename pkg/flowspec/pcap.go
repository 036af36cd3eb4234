package flowspec

import (
	"fmt"
	"strings"
)

// PcapFilter renders s as a pcap-filter expression that selects the same
// packets as the kernel table: TCP in either direction, untagged or under
// one or two VLAN tags (802.1Q or QinQ).
//
// For IPv6 libpcap reads ports only when TCP directly follows the fixed
// header; a packet behind extension headers is matched by the kernel table
// but not by this text. Byte-offset tests such as tcp[13] are never emitted.
func (s Spec) PcapFilter() string { return PcapFilterSet([]Spec{s}) }

// PcapFilterSet renders several specs as one expression. In pcap-filter
// syntax "vlan" moves the offsets of every test after it, even in another
// "or" branch, so all untagged tests come first and each vlan level wraps
// the whole set: U or (vlan and (U or (vlan and U))).
func PcapFilterSet(specs []Spec) string {
	if len(specs) == 0 {
		return ""
	}
	clauses := make([]string, len(specs))
	for i, s := range specs {
		clauses[i] = s.bothWays()
	}
	u := "tcp and (" + strings.Join(clauses, " or ") + ")"
	return fmt.Sprintf("(%s) or (vlan and ((%s) or (vlan and (%s))))", u, u, u)
}

func (s Spec) bothWays() string {
	fwd, rev := s.oneWay(), s.Reverse().oneWay()
	if fwd == rev {
		return "(" + fwd + ")"
	}
	return "((" + fwd + ") or (" + rev + "))"
}

func (s Spec) oneWay() string {
	t := []string{addrTest("src", s)}
	if d := addrTest("dst", s); d != t[0] {
		t = append(t, d)
	}
	if s.SrcPort != 0 {
		t = append(t, fmt.Sprintf("src port %d", s.SrcPort))
	}
	if s.DstPort != 0 {
		t = append(t, fmt.Sprintf("dst port %d", s.DstPort))
	}
	return strings.Join(t, " and ")
}

func addrTest(dir string, s Spec) string {
	p := s.Src
	if dir == "dst" {
		p = s.Dst
	}
	switch {
	case p.Bits() == 0:
		// A wildcard still pins the family, so an IPv4 spec never selects
		// IPv6 traffic whose other fields happen to match.
		if p.Addr().Is4() {
			return "ip"
		}
		return "ip6"
	case p.IsSingleIP():
		return fmt.Sprintf("%s host %s", dir, p.Addr())
	default:
		return fmt.Sprintf("%s net %s", dir, p)
	}
}
