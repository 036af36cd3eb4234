package blocktable

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/softips/softips/pkg/flowspec"
)

// ErrRefused is matched (errors.Is) by every refusal of a guard rail.
var ErrRefused = errors.New("refused by guard rail")

// RefusedError is a guard-rail refusal: the spec and the exact reason.
type RefusedError struct {
	Spec   flowspec.Spec
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("spec %q refused: %s", e.Spec, e.Reason)
}

// Is makes errors.Is(err, ErrRefused) true for a RefusedError.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// Protected is a prefix no entry may touch, with a label that reasons
// name ("sensor", "gateway", "management", "never_block").
type Protected struct {
	Prefix netip.Prefix
	Label  string
}

// Guard holds the guard rails. Admin entries pass only the protected-prefix
// rail (an administrator edits the allowlist in the configuration, not
// around it); detector and derived entries pass all of them.
type Guard struct {
	RequireAddress bool        // refuse specs with both addresses wildcarded
	MinInvariants  int         // refuse specs with fewer fixed fields
	MaxWidthV4     int         // refuse fixed IPv4 prefixes shorter than this; 0: off
	MaxWidthV6     int         // the same for IPv6
	Protected      []Protected // never blocked, whatever the origin
}

// DefaultGuard returns the rails of DESIGN §4 with no protected prefix:
// a fixed address required, at least one fixed field, nothing wider than
// /16 (IPv4) or /48 (IPv6).
func DefaultGuard() Guard {
	return Guard{RequireAddress: true, MinInvariants: 1, MaxWidthV4: 16, MaxWidthV6: 48}
}

// Check returns nil when s may be installed with origin o, or a
// *RefusedError saying which rail refused it.
func (g Guard) Check(s flowspec.Spec, o Origin) error {
	reason := g.protectedReason(s)
	if reason == "" && o != Admin {
		reason = g.shapeReason(s)
	}
	if reason == "" {
		return nil
	}
	return &RefusedError{Spec: s, Reason: reason}
}

func (g Guard) shapeReason(s flowspec.Spec) string {
	if g.RequireAddress && s.Src.Bits() == 0 && s.Dst.Bits() == 0 {
		return "no fixed address"
	}
	if n := s.Invariants(); n < g.MinInvariants {
		return fmt.Sprintf("%d fixed fields, fewer than min_invariants %d",
			n, g.MinInvariants)
	}
	limit := g.MaxWidthV4
	if s.Is6() {
		limit = g.MaxWidthV6
	}
	for _, side := range sides(s) {
		if b := side.p.Bits(); b > 0 && b < limit {
			return fmt.Sprintf("%s prefix %s wider than /%d", side.name, side.p, limit)
		}
	}
	return ""
}

type side struct {
	name string
	p    netip.Prefix
}

func sides(s flowspec.Spec) [2]side {
	return [2]side{{"source", s.Src}, {"destination", s.Dst}}
}

// protectedReason refuses a spec whose fixed address prefixes overlap a
// protected prefix. A wildcard address overlaps everything, but only the
// spec whose both sides are wildcards is refused for it: a fixed attacker
// against "any" is allowed, and the injector separately never resets a
// flow with a protected endpoint.
func (g Guard) protectedReason(s flowspec.Spec) string {
	if s.Src.Bits() == 0 && s.Dst.Bits() == 0 {
		for _, p := range g.sorted() {
			if p.Prefix.Addr().Is4() == s.Src.Addr().Is4() {
				return "both addresses are wildcards: would match protected " + p.text()
			}
		}
		return ""
	}
	for _, sd := range sides(s) {
		if sd.p.Bits() == 0 {
			continue
		}
		if hits := g.overlaps(sd.p); len(hits) > 0 {
			return sd.name + " " + prefixText(sd.p) + " " + strings.Join(hits, ", ")
		}
	}
	return ""
}

func (g Guard) overlaps(f netip.Prefix) []string {
	var hits []string
	for _, p := range g.sorted() {
		if !f.Overlaps(p.Prefix) {
			continue
		}
		verb := "is inside protected "
		if f == p.Prefix {
			verb = "is protected "
		} else if f.Bits() < p.Prefix.Bits() {
			verb = "covers protected "
		}
		hits = append(hits, verb+p.text())
	}
	return hits
}

func (g Guard) sorted() []Protected {
	if slices.IsSortedFunc(g.Protected, cmpProtected) {
		return g.Protected
	}
	return slices.SortedFunc(slices.Values(g.Protected), cmpProtected)
}

func cmpProtected(a, b Protected) int { return a.Prefix.Compare(b.Prefix) }

func (p Protected) text() string { return prefixText(p.Prefix) + " (" + p.Label + ")" }

func prefixText(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}
