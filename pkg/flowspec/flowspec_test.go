package flowspec

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestParseGood(t *testing.T) {
	cases := []struct{ in, want string }{
		{"198.51.100.7/32 0 203.0.113.10/32 80", "198.51.100.7 0 203.0.113.10 80"},
		{"198.51.100.7 0 203.0.113.10 80", "198.51.100.7 0 203.0.113.10 80"},
		{"  198.51.100.0/24\t0  0.0.0.0/0 443 ", "198.51.100.0/24 0 0.0.0.0/0 443"},
		{"2001:db8::10 51000 2001:db8::20/128 443", "2001:db8::10 51000 2001:db8::20 443"},
		{"2001:db8::/32 0 ::/0 0", "2001:db8::/32 0 ::/0 0"},
		{"0.0.0.0/0 80 0.0.0.0/0 0", "0.0.0.0/0 80 0.0.0.0/0 0"},
	}
	for _, c := range cases {
		s, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if got := s.String(); got != c.want {
			t.Errorf("Parse(%q).String() = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"198.51.100.7 0 203.0.113.10", `parse spec "198.51.100.7 0 203.0.113.10": ` +
			`want 4 fields "<srca/mask> <srcp> <dsta/mask> <dstp>", got 3`},
		{"198.51.100.7/24 0 203.0.113.10 80", `field 1 (source address) ` +
			`"198.51.100.7/24": host bits set under /24 (did you mean 198.51.100.0/24?)`},
		{"198.51.100.7 65536 203.0.113.10 80",
			`field 2 (source port) "65536": port above 65535`},
		{"198.51.100.7 0 203.0.113.300 80",
			`field 3 (destination address) "203.0.113.300": not an IP address`},
		{"198.51.100.7 0 203.0.113.10 http",
			`field 4 (destination port) "http": not a decimal port number`},
		{"198.51.100.7 -1 203.0.113.10 80",
			`field 2 (source port) "-1": not a decimal port number`},
		{"198.51.100.7 0 2001:db8::1 80", `parse spec "198.51.100.7 0 2001:db8::1 80": ` +
			`source and destination address families differ (198.51.100.7/32 and 2001:db8::1/128)`},
		{"0.0.0.0/0 0 0.0.0.0/0 0",
			`parse spec "0.0.0.0/0 0 0.0.0.0/0 0": all four fields are wildcards`},
		{"fe80::1%eth0 0 ::/0 22", `field 1 (source address) "fe80::1%eth0": ` +
			`zoned addresses are not allowed`},
		{"::ffff:198.51.100.0/120 0 ::/0 22", `field 1 (source address) ` +
			`"::ffff:198.51.100.0/120": IPv4-mapped IPv6 prefixes are not allowed`},
		{"224.0.0.1 0 0.0.0.0/0 22",
			`field 1 (source address) "224.0.0.1": multicast address: TCP never uses it`},
		{"ff02::/16 0 ::/0 22",
			`field 1 (source address) "ff02::/16": multicast address: TCP never uses it`},
		{"0.0.0.0 0 198.51.100.7 22", `field 1 (source address) "0.0.0.0": unspecified ` +
			`address as a host (a wildcard is 0.0.0.0/0 or ::/0)`},
		{"198.51.100.7 0 255.255.255.255 22", `field 3 (destination address) ` +
			`"255.255.255.255": broadcast address: TCP never uses it`},
		{strings.Repeat("x", 100) + " 1", `parse spec "` + strings.Repeat("x", 61) +
			`...": want 4 fields "<srca/mask> <srcp> <dsta/mask> <dstp>", got 2`},
		{"198.51.100.0/33 0 0.0.0.0/0 22",
			`field 1 (source address) "198.51.100.0/33": not an address/mask prefix`},
	}
	for _, c := range cases {
		_, err := Parse(c.in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want error %q", c.in, c.want)
			continue
		}
		if err.Error() != c.want {
			t.Errorf("Parse(%q) error\n got %q\nwant %q", c.in, err, c.want)
		}
	}
}

func TestParseSentinels(t *testing.T) {
	if _, err := Parse("0.0.0.0/0 0 0.0.0.0/0 0"); !errors.Is(err, ErrAllWildcard) {
		t.Errorf("all-wildcard: got %v, want ErrAllWildcard", err)
	}
	if _, err := Parse("::/0 0 0.0.0.0/0 80"); !errors.Is(err, ErrMixedFamily) {
		t.Errorf("mixed: got %v, want ErrMixedFamily", err)
	}
	var fe *FieldError
	if _, err := Parse("a 0 b 0"); !errors.As(err, &fe) || fe.Field != 1 {
		t.Errorf("bad address: got %v, want FieldError on field 1", err)
	}
}

func TestInvariants(t *testing.T) {
	cases := map[string]int{
		"198.51.100.7 0 0.0.0.0/0 0":        1,
		"198.51.100.7 0 0.0.0.0/0 80":       2,
		"198.51.100.7 0 203.0.113.10 80":    3,
		"198.51.100.7 1234 203.0.113.10 80": 4,
		"0.0.0.0/0 0 0.0.0.0/0 80":          1,
	}
	for in, want := range cases {
		if got := MustParse(in).Invariants(); got != want {
			t.Errorf("%q: Invariants() = %d, want %d", in, got, want)
		}
	}
}

func tup(src string, sp uint16, dst string, dp uint16) Tuple {
	return Tuple{netip.MustParseAddr(src), netip.MustParseAddr(dst), sp, dp}
}

func TestMatches(t *testing.T) {
	cases := []struct {
		spec string
		t    Tuple
		want bool
	}{
		{"198.51.100.7 0 203.0.113.10 80", tup("198.51.100.7", 40000, "203.0.113.10", 80), true},
		{"198.51.100.7 0 203.0.113.10 80", tup("203.0.113.10", 80, "198.51.100.7", 40000), true},
		{"198.51.100.7 0 203.0.113.10 80", tup("203.0.113.10", 40000, "198.51.100.7", 80), false},
		{"198.51.100.7 0 203.0.113.10 80", tup("198.51.100.8", 40000, "203.0.113.10", 80), false},
		{"198.51.100.0/24 0 0.0.0.0/0 22", tup("198.51.100.99", 1, "203.0.113.5", 22), true},
		{"198.51.100.0/24 0 0.0.0.0/0 22", tup("203.0.113.5", 22, "198.51.100.99", 1), true},
		{"198.51.100.0/24 0 0.0.0.0/0 22", tup("198.51.101.1", 1, "203.0.113.5", 22), false},
		{"0.0.0.0/0 0 0.0.0.0/0 80", tup("2001:db8::1", 1, "2001:db8::2", 80), false},
		{"2001:db8::10 0 2001:db8::20 443", tup("2001:db8::20", 443, "2001:db8::10", 51000), true},
	}
	for _, c := range cases {
		if got := MustParse(c.spec).Matches(c.t); got != c.want {
			t.Errorf("%q.Matches(%+v) = %v, want %v", c.spec, c.t, got, c.want)
		}
	}
}

func TestCovers(t *testing.T) {
	cases := []struct {
		outer, inner string
		want         bool
	}{
		{"198.51.100.7 1234 203.0.113.10 0", "198.51.100.7 1234 203.0.113.10 80", true},
		{"198.51.100.7 1234 203.0.113.10 80", "198.51.100.7 1234 203.0.113.10 0", false},
		{"198.51.100.0/24 0 0.0.0.0/0 0", "198.51.100.7 1 203.0.113.10 2", true},
		{"198.51.100.0/24 0 0.0.0.0/0 0", "198.51.100.0/23 0 0.0.0.0/0 0", false},
		{"203.0.113.10 80 0.0.0.0/0 0", "198.51.100.7 0 203.0.113.10 80", true},
		{"0.0.0.0/0 0 0.0.0.0/0 80", "2001:db8::1 0 2001:db8::2 80", false},
	}
	for _, c := range cases {
		if got := MustParse(c.outer).Covers(MustParse(c.inner)); got != c.want {
			t.Errorf("%q.Covers(%q) = %v, want %v", c.outer, c.inner, got, c.want)
		}
	}
}

func TestValidateCatchesBuiltSpecs(t *testing.T) {
	bad := Spec{Src: netip.MustParsePrefix("198.51.100.7/24"), Dst: netip.MustParsePrefix("0.0.0.0/0")}
	if err := bad.Validate(); err == nil {
		t.Error("Validate accepted host bits under the mask")
	}
	if err := (Spec{}).Validate(); err == nil {
		t.Error("Validate accepted the zero Spec")
	}
}

// FuzzParse checks that whatever Parse accepts formats back to text that
// parses to the same spec, and that Parse never panics.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"198.51.100.7/32 0 203.0.113.10/32 80",
		"2001:db8::/48 22 ::/0 0", "0.0.0.0/0 0 0.0.0.0/0 0", "1.2.3.4/8 1 x 2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Parse(in)
		if err != nil {
			return
		}
		back, err := Parse(s.String())
		if err != nil {
			t.Fatalf("Parse(%q) ok but its String %q fails: %v", in, s, err)
		}
		if back != s {
			t.Fatalf("round trip of %q: %+v != %+v", in, back, s)
		}
		if s.Invariants() == 0 {
			t.Fatalf("Parse(%q) returned an all-wildcard spec", in)
		}
	})
}

func TestHostAndExact(t *testing.T) {
	if got := Host(netip.MustParseAddr("::ffff:198.51.100.7")); got.String() != "198.51.100.7/32" {
		t.Errorf("Host of a mapped address = %s, want 198.51.100.7/32", got)
	}
	s := Exact(netip.MustParseAddrPort("[2001:db8::10]:51000"),
		netip.MustParseAddrPort("[2001:db8::20]:443"))
	if s.String() != "2001:db8::10 51000 2001:db8::20 443" || s.Invariants() != 4 ||
		s.Validate() != nil {
		t.Errorf("Exact = %q (%d fields, %v)", s, s.Invariants(), s.Validate())
	}
}
