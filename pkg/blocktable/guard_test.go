package blocktable

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/softips/softips/pkg/flowspec"
)

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// TestF5BlockingYourself runs the exact proposals of known fault F5
// through the guard and through the table, for every origin.
func TestF5BlockingYourself(t *testing.T) {
	cases := []struct{ spec, reason string }{
		{"198.51.100.1/32 0 0.0.0.0/0 0",
			"source 198.51.100.1 is protected 198.51.100.1 (gateway)"},
		{"198.51.100.0/24 0 0.0.0.0/0 0",
			"source 198.51.100.0/24 covers protected 198.51.100.1 (gateway), " +
				"covers protected 198.51.100.2 (sensor)"},
		{"203.0.113.230/32 0 0.0.0.0/0 0",
			"source 203.0.113.230 is inside protected 203.0.113.224/28 (management)"},
		{"198.51.100.77/32 0 0.0.0.0/0 0", ""},
	}
	for _, o := range []Origin{Detector, Derived, Admin} {
		tb := open(t, newClock(), func(op *Options) { op.Guard = f5Guard() })
		for _, c := range cases {
			_, added, err := tb.Add(req(c.spec, o))
			var re *RefusedError
			switch {
			case c.reason == "" && (err != nil || !added):
				t.Errorf("%s %q: got %v, want installed", o, c.spec, err)
			case c.reason != "" && !errors.As(err, &re):
				t.Errorf("%s %q: got %v, want refusal", o, c.spec, err)
			case c.reason != "" && re.Reason != c.reason:
				t.Errorf("%s %q: reason %q, want %q", o, c.spec, re.Reason, c.reason)
			}
		}
		if st := tb.Stats(); st.RefusedGuard != 3 || st.Entries != 1 {
			t.Errorf("%s: stats %+v, want 3 refused and 1 entry", o, st)
		}
	}
}

func TestGuardReasons(t *testing.T) {
	g := f5Guard()
	g.MinInvariants = 2
	g.Protected = append(g.Protected, Protected{mustPrefix("2001:db8:ff::/48"), "never_block"})
	cases := []struct {
		spec   string
		origin Origin
		reason string
	}{
		{"0.0.0.0/0 0 0.0.0.0/0 443", Derived, "both addresses are wildcards: " +
			"would match protected 198.51.100.1 (gateway)"},
		{"0.0.0.0/0 0 0.0.0.0/0 443", Admin, "both addresses are wildcards: " +
			"would match protected 198.51.100.1 (gateway)"},
		{"::/0 80 ::/0 0", Detector, "both addresses are wildcards: " +
			"would match protected 2001:db8:ff::/48 (never_block)"},
		{"198.51.100.77 0 0.0.0.0/0 0", Derived, "1 fixed fields, fewer than min_invariants 2"},
		{"198.51.100.77 0 0.0.0.0/0 0", Admin, ""},
		{"10.0.0.0/8 0 0.0.0.0/0 80", Detector, "source prefix 10.0.0.0/8 wider than /16"},
		{"10.0.0.0/8 0 0.0.0.0/0 80", Admin, ""},
		{"10.1.0.0/16 0 0.0.0.0/0 80", Detector, ""},
		{"2001:db8:1000::/36 0 ::/0 80", Derived,
			"source prefix 2001:db8:1000::/36 wider than /48"},
		{"203.0.113.9 0 198.51.100.2 22", Detector,
			"destination 198.51.100.2 is protected 198.51.100.2 (sensor)"},
		{"2001:db8:ff:1::/64 0 ::/0 80", Detector,
			"source 2001:db8:ff:1::/64 is inside protected 2001:db8:ff::/48 (never_block)"},
		{"203.0.113.0/24 0 198.51.100.7 0", Admin,
			"source 203.0.113.0/24 covers protected 203.0.113.224/28 (management)"},
	}
	for _, c := range cases {
		err := g.Check(flowspec.MustParse(c.spec), c.origin)
		got := ""
		if re := (*RefusedError)(nil); errors.As(err, &re) {
			got = re.Reason
		}
		if got != c.reason || (err != nil) != (c.reason != "") ||
			(err != nil && !errors.Is(err, ErrRefused)) {
			t.Errorf("Check(%q, %s) = %v, want reason %q", c.spec, c.origin, err, c.reason)
		}
	}
}

func TestGuardNoProtectedNoAddress(t *testing.T) {
	g := DefaultGuard()
	g.RequireAddress = false
	if err := g.Check(flowspec.MustParse("0.0.0.0/0 0 0.0.0.0/0 445"), Derived); err != nil {
		t.Errorf("port-only with RequireAddress off and nothing protected: %v", err)
	}
}
