package invariant

import (
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"strings"

	"github.com/softips/softips/pkg/flowspec"
)

// Shape is a set of kept fields: a point of the generalisation lattice.
// Fields outside it are wildcarded; a prefix is kept or wildcarded whole.
type Shape uint8

// The fields of a spec, as Shape bits.
const (
	Src Shape = 1 << iota
	SrcPort
	Dst
	DstPort
)

var fieldNames = [4]string{"src", "sport", "dst", "dport"}

// String lists the kept fields, e.g. "src sport dst".
func (s Shape) String() string {
	var f []string
	for i, n := range fieldNames {
		if s&(1<<i) != 0 {
			f = append(f, n)
		}
	}
	if len(f) == 0 {
		return "none"
	}
	return strings.Join(f, " ")
}

// ParseShape reads the form String writes: field names (src, sport, dst,
// dport) separated by blanks.
func ParseShape(text string) (Shape, error) {
	var s Shape
	for _, w := range strings.Fields(text) {
		i := slices.Index(fieldNames[:], w)
		if i < 0 {
			return 0, fmt.Errorf("shape %q: unknown field %q (want src, sport, dst, dport)",
				text, w)
		}
		s |= 1 << i
	}
	if s == 0 {
		return 0, fmt.Errorf("shape %q: no field kept", text)
	}
	return s, nil
}

// Fields counts the kept fields.
func (s Shape) Fields() int { return bits.OnesCount8(uint8(s)) }

func (s Shape) addresses() int { return (s & Src).Fields() + (s & Dst).Fields() }

// ShapeOf returns the fixed fields of sp.
func ShapeOf(sp flowspec.Spec) Shape {
	var s Shape
	if sp.Src.Bits() > 0 {
		s |= Src
	}
	if sp.SrcPort != 0 {
		s |= SrcPort
	}
	if sp.Dst.Bits() > 0 {
		s |= Dst
	}
	if sp.DstPort != 0 {
		s |= DstPort
	}
	return s
}

// Generalise keeps the fields of sp in s and wildcards the others.
func Generalise(sp flowspec.Spec, s Shape) flowspec.Spec {
	if s&Src == 0 {
		sp.Src = wildcard(sp.Src)
	}
	if s&SrcPort == 0 {
		sp.SrcPort = 0
	}
	if s&Dst == 0 {
		sp.Dst = wildcard(sp.Dst)
	}
	if s&DstPort == 0 {
		sp.DstPort = 0
	}
	return sp
}

func wildcard(p netip.Prefix) netip.Prefix {
	w, _ := p.Addr().Prefix(0)
	return w
}

// DefaultLattice returns every shape that keeps the source address and at
// least minInvariants fields, most specific first. A signal's source is
// the sender of the offending traffic, so widening keeps it fixed and
// never turns into a block of a receiver for everyone: six attackers of
// one server must not cut that server off ("0.0.0.0/0 0 server 0"), while
// one scanner of six servers is blocked whole. The shape of all four
// fields is left out too: it generalises nothing. Configure
// invariant.lattice for other shapes.
func DefaultLattice(minInvariants int) []Shape {
	var l []Shape
	for s := Shape(1); s < 15; s++ {
		if s&Src != 0 && s.Fields() >= minInvariants {
			l = append(l, s)
		}
	}
	sortLattice(l)
	return l
}

// sortLattice orders shapes most specific first: more fields, then more
// addresses kept, then a fixed order.
func sortLattice(l []Shape) {
	slices.SortFunc(l, func(a, b Shape) int {
		if a.Fields() != b.Fields() {
			return b.Fields() - a.Fields()
		}
		if a.addresses() != b.addresses() {
			return b.addresses() - a.addresses()
		}
		return int(a) - int(b)
	})
}
