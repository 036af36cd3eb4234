package invariant

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/softips/softips/pkg/blocktable"
	"github.com/softips/softips/pkg/flowspec"
)

var neverBlock = []netip.Prefix{
	netip.MustParsePrefix("198.51.100.0/29"),
	netip.MustParsePrefix("2001:db8:0:1::/64"),
}

// Address pools are small so that streams repeat themselves and widen;
// some overlap the never_block prefixes, some are prefixes themselves.
var (
	pool4 = []string{"198.51.100.3", "198.51.100.9", "198.51.100.0/28", "203.0.113.5",
		"203.0.113.6", "203.0.113.0/24", "192.0.2.1", "0.0.0.0/0"}
	pool6 = []string{"2001:db8:0:1::5", "2001:db8::7", "2001:db8:0:2::/64",
		"2001:db8:0:1::/64", "2001:db8::8", "::/0"}
	ports = []uint16{0, 22, 80, 443, 40000, 40001, 51000}
)

func randomSignal(rng *rand.Rand) flowspec.Spec {
	pool := pool4
	if rng.IntN(3) == 0 {
		pool = pool6
	}
	for {
		s := flowspec.Spec{
			Src:     netip.MustParsePrefix(asPrefix(pool[rng.IntN(len(pool))])),
			Dst:     netip.MustParsePrefix(asPrefix(pool[rng.IntN(len(pool))])),
			SrcPort: ports[rng.IntN(len(ports))],
			DstPort: ports[rng.IntN(len(ports))],
		}
		if s.Invariants() > 0 {
			return s
		}
	}
}

func asPrefix(a string) string {
	if p, err := netip.ParsePrefix(a); err == nil {
		return p.String()
	}
	ad := netip.MustParseAddr(a)
	return netip.PrefixFrom(ad, ad.BitLen()).String()
}

// TestPropertyNeverUnsafe feeds bounded random streams (seeded, so a
// failure repeats) and checks every widening: never all-wildcard, never
// without a fixed address, never a fixed prefix overlapping never_block,
// always covering the signals that caused it.
func TestPropertyNeverUnsafe(t *testing.T) {
	g := blocktable.DefaultGuard()
	for _, p := range neverBlock {
		g.Protected = append(g.Protected, blocktable.Protected{Prefix: p, Label: "never_block"})
	}
	widenings := 0
	for seed := range uint64(60) {
		rng := rand.New(rand.NewPCG(seed, 7))
		r := newRig(t, g, func(o *Options) {
			o.Threshold = 1 + rng.IntN(5)
			o.Window = time.Duration(1+rng.IntN(10)) * time.Minute
		})
		for range 400 {
			r.clock.Advance(time.Duration(rng.IntN(60)) * time.Second)
			s := randomSignal(rng)
			for _, d := range r.x.Ingest(blocktable.Signal{Spec: s, Source: "prop"}) {
				if d.Kind == Widened {
					widenings++
					checkSafe(t, seed, d)
				}
			}
		}
	}
	t.Logf("%d widenings", widenings)
	if widenings < 50 {
		t.Errorf("only %d widenings over all streams: the property was barely exercised",
			widenings)
	}
}

func checkSafe(t *testing.T, seed uint64, d Decision) {
	t.Helper()
	s := d.Spec
	if s.Invariants() == 0 || ShapeOf(s)&(Src|Dst) == 0 {
		t.Errorf("seed %d: widened to %q: no fixed address", seed, s)
	}
	for _, side := range []netip.Prefix{s.Src, s.Dst} {
		for _, p := range neverBlock {
			if side.Bits() > 0 && side.Overlaps(p) {
				t.Errorf("seed %d: widened to %q: overlaps never_block %s", seed, s, p)
			}
		}
	}
	for _, sig := range d.Signals {
		if !s.Covers(sig.Spec) {
			t.Errorf("seed %d: widened %q does not cover its signal %q", seed, s, sig.Spec)
		}
	}
}
