package blocktable

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/softips/softips/pkg/flowspec"
)

// Origin says where an entry came from; it decides aging and guard rails.
type Origin uint8

// The origins of an entry.
const (
	Detector Origin = iota + 1 // one block signal, installed as it came
	Derived                    // a generalisation of repeated signals
	Admin                      // added by an administrator; never ages
)

var originNames = map[Origin]string{Detector: "detector", Derived: "derived", Admin: "admin"}

// String returns the lowercase name of o.
func (o Origin) String() string {
	if n, ok := originNames[o]; ok {
		return n
	}
	return fmt.Sprintf("origin(%d)", uint8(o))
}

// MarshalText writes o by name.
func (o Origin) MarshalText() ([]byte, error) {
	if _, ok := originNames[o]; !ok {
		return nil, fmt.Errorf("marshal origin: unknown value %d", uint8(o))
	}
	return []byte(o.String()), nil
}

// UnmarshalText reads an origin name.
func (o *Origin) UnmarshalText(b []byte) error {
	for v, n := range originNames {
		if n == string(b) {
			*o = v
			return nil
		}
	}
	return fmt.Errorf("unknown origin %q (want admin, derived or detector)", b)
}

// Signal is one piece of evidence: a spec, who raised it ("sid:2001",
// "admin", "signal:siem") and when.
type Signal struct {
	Spec   flowspec.Spec
	Source string
	Time   time.Time
}

// Explanation says why an entry exists: the signals behind it, newest
// last and bounded in number, and for derived entries the generalisation
// that produced it.
type Explanation struct {
	Generalisation string
	Signals        []Signal
}

// Entry is one row of the block table. Copies handed out are values; the
// Signals slice is never modified in place and may be shared.
type Entry struct {
	ID          uint64 // stable, never reused
	Spec        flowspec.Spec
	Origin      Origin
	Invariants  int // fixed fields of Spec
	Created     time.Time
	LastHit     time.Time // zero until the kernel reports a hit
	Hits        uint64
	Expires     time.Time // zero for admin entries
	Comment     string
	Explanation Explanation
}

// Hit is what the kernel counted for one entry: packets matched and the
// time of the last one (zero when unknown).
type Hit struct {
	Hits    uint64
	LastHit time.Time
}

// Canonical returns the one orientation of s that the table uses as its
// key. A spec matches both directions, so s and s.Reverse() block the
// same packets and are the same entry.
func Canonical(s flowspec.Spec) flowspec.Spec {
	if sideLess(s.Dst, s.DstPort, s.Src, s.SrcPort) {
		return s.Reverse()
	}
	return s
}

func sideLess(a netip.Prefix, ap uint16, b netip.Prefix, bp uint16) bool {
	if c := a.Compare(b); c != 0 {
		return c < 0
	}
	return ap < bp
}

// String formats the signal as "<time> <source> <spec>", time in UTC.
func (s Signal) String() string {
	return s.Time.UTC().Format(time.RFC3339) + " " + s.Source + " " + s.Spec.String()
}
