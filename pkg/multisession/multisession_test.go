package multisession

import (
	"net/netip"
	"testing"
	"time"

	"github.com/softips/softips/pkg/invariant"
)

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func alert(src string, sport uint16, dst string, dport uint16, class string,
	at time.Duration) Alert {
	return Alert{Src: netip.AddrPortFrom(netip.MustParseAddr(src), sport),
		Dst: netip.AddrPortFrom(netip.MustParseAddr(dst), dport), Classtype: class,
		Time: t0.Add(at)}
}

func bruteRule() Rule {
	return Rule{Name: "ssh-brute", By: "src", Classtype: "attempted-admin", Count: 20,
		Window: time.Minute, Keep: invariant.Src}
}

// TestFiresOnTheCountPlusOneth: more than 20 alerts of the classtype from
// one source within 60 s block that source; the 20th does not.
func TestFiresOnTheCountPlusOneth(t *testing.T) {
	tr, err := New([]Rule{bruteRule()}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		a := alert("198.51.100.7", uint16(40000+i), "203.0.113.10", 22, "attempted-admin",
			time.Duration(i)*time.Second)
		if sigs := tr.Observe(a); len(sigs) != 0 {
			t.Fatalf("alert %d fired %v", i+1, sigs)
		}
	}
	sigs := tr.Observe(alert("198.51.100.7", 41000, "203.0.113.11", 22, "attempted-admin",
		30*time.Second))
	if len(sigs) != 1 || sigs[0].Spec.String() != "198.51.100.7 0 0.0.0.0/0 0" ||
		sigs[0].Count != 21 || sigs[0].Rule != "ssh-brute" {
		t.Fatalf("21st alert: got %+v, want one signal 198.51.100.7 0 0.0.0.0/0 0", sigs)
	}
}

func TestWindowSlidesAndClasstypeFilters(t *testing.T) {
	tr, _ := New([]Rule{bruteRule()}, 0)
	for i := range 40 {
		// one alert every 4 s: never more than 15 in a minute
		a := alert("198.51.100.7", 1, "203.0.113.10", 22, "attempted-admin",
			time.Duration(i)*4*time.Second)
		if sigs := tr.Observe(a); len(sigs) != 0 {
			t.Fatalf("slow stream fired at alert %d", i)
		}
	}
	for i := range 30 {
		a := alert("198.51.100.9", 1, "203.0.113.10", 22, "web-attack", time.Duration(i))
		if sigs := tr.Observe(a); len(sigs) != 0 {
			t.Fatal("another classtype counted")
		}
	}
}

func TestGroupingByPairAndDst(t *testing.T) {
	tr, _ := New([]Rule{{Name: "pair", By: "pair", Count: 2, Window: time.Minute,
		Keep: invariant.Src | invariant.Dst | invariant.DstPort}, {Name: "victim", By: "dst",
		Count: 3, Window: time.Minute, Keep: invariant.Dst}}, 0)
	var got []string
	for i, src := range []string{"198.51.100.1", "198.51.100.2", "198.51.100.1", "198.51.100.1"} {
		for _, s := range tr.Observe(alert(src, 5000, "203.0.113.10", 80, "", time.Duration(i))) {
			got = append(got, s.Rule+": "+s.Spec.String())
		}
	}
	want := []string{"pair: 198.51.100.1 0 203.0.113.10 80", "victim: 0.0.0.0/0 0 203.0.113.10 0"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("signals %q, want %q", got, want)
	}
}

func TestBoundedGroups(t *testing.T) {
	tr, _ := New([]Rule{bruteRule()}, 100)
	for i := range 1000 {
		a := alert(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}).String(), 1,
			"203.0.113.10", 22, "attempted-admin", time.Duration(i))
		a.Src = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1}), 1)
		tr.Observe(a)
	}
	if n := len(tr.rules[0].keys); n != 100 || tr.Evicted != 900 {
		t.Fatalf("tracked %d groups, evicted %d; want 100 and 900", n, tr.Evicted)
	}
}

func TestRuleErrors(t *testing.T) {
	cases := map[string]Rule{
		`multi-session rule 0 "x": by "host": want src, dst or pair`: {Name: "x", By: "host",
			Count: 1, Window: time.Second, Keep: invariant.Src},
		`multi-session rule 0 "x": keep must hold src or dst: a signal needs a fixed address`: {
			Name: "x", By: "src", Count: 1, Window: time.Second, Keep: invariant.DstPort},
		`multi-session rule 0 "x": window must be positive`: {Name: "x", By: "src", Count: 1,
			Keep: invariant.Src},
	}
	for want, r := range cases {
		if _, err := New([]Rule{r}, 0); err == nil || err.Error() != want {
			t.Errorf("got %v, want %q", err, want)
		}
	}
}
