package invariant

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/softips/softips/pkg/blocktable"
	"github.com/softips/softips/pkg/flowspec"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// rig is a daemon in miniature: every signal becomes a detector entry,
// then goes to the extractor.
type rig struct {
	t     *testing.T
	clock *fakeClock
	table *blocktable.Table
	x     *Extractor
}

func newRig(t *testing.T, guard blocktable.Guard, mod func(*Options)) *rig {
	t.Helper()
	c := &fakeClock{t: t0}
	to := blocktable.DefaultOptions()
	to.Now, to.Guard = c.Now, guard
	tb, err := blocktable.Open(to)
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	o.Now = c.Now
	if mod != nil {
		mod(&o)
	}
	x, err := New(tb, o)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t, c, tb, x}
}

func (r *rig) signal(spec string) []Decision {
	r.t.Helper()
	s := flowspec.MustParse(spec)
	sig := blocktable.Signal{Spec: s, Source: "sid:2001", Time: r.clock.t}
	r.table.Add(blocktable.Request{Spec: s, Origin: blocktable.Detector,
		Signals: []blocktable.Signal{sig}})
	return r.x.Ingest(sig)
}

func widened(ds []Decision) []string {
	var out []string
	for _, d := range ds {
		if d.Kind == Widened {
			out = append(out, d.Spec.String())
		}
	}
	return out
}

// TestReferenceExample is DESIGN §4's example: the sixth distinct
// destination port, and not the fifth, widens to any destination port.
func TestReferenceExample(t *testing.T) {
	r := newRig(t, blocktable.DefaultGuard(), nil)
	for p := 1; p <= 6; p++ {
		ds := r.signal(fmt.Sprintf("198.51.100.7 40000 203.0.113.10 %d", 8000+p))
		got := widened(ds)
		if p < 6 && len(ds) != 0 {
			t.Fatalf("signal %d: decisions %v before the sixth", p, ds)
		}
		if p == 6 && (len(got) != 1 || got[0] != "198.51.100.7 40000 203.0.113.10 0") {
			t.Fatalf("signal 6: widened %v, want [198.51.100.7 40000 203.0.113.10 0]", got)
		}
		if p == 6 && (ds[0].Count != 6 || len(ds[0].Signals) != 6 ||
			ds[0].Shape != Src|SrcPort|Dst) {
			t.Errorf("decision %+v", ds[0])
		}
	}
	e, ok := r.table.Lookup(flowspec.MustParse("198.51.100.7 40000 203.0.113.10 0"))
	if !ok || e.Origin != blocktable.Derived || len(e.Explanation.Signals) != 6 ||
		e.Explanation.Generalisation != "kept src sport dst: 6 distinct signals in 10m0s" {
		t.Fatalf("derived entry %+v", e)
	}
	if ds := r.signal("198.51.100.7 40000 203.0.113.10 9999"); len(ds) != 0 {
		t.Errorf("signal covered by the derived entry widened again: %v", ds)
	}
	if st := r.x.Stats(); st.Widened != 1 || st.Covered != 1 || st.Signals != 7 {
		t.Errorf("stats %+v", st)
	}
}

func TestRepeatsCountOnce(t *testing.T) {
	r := newRig(t, blocktable.DefaultGuard(), nil)
	for p := 1; p <= 5; p++ {
		r.signal(fmt.Sprintf("198.51.100.7 40000 203.0.113.10 %d", 8000+p))
	}
	for range 10 {
		if ds := r.signal("198.51.100.7 40000 203.0.113.10 8001"); len(ds) != 0 {
			t.Fatalf("a repeated signal widened: %v", ds)
		}
		if ds := r.signal("203.0.113.10 8002 198.51.100.7 40000"); len(ds) != 0 {
			t.Fatalf("a repeated signal, reversed, widened: %v", ds)
		}
	}
	if got := widened(r.signal("198.51.100.7 40000 203.0.113.10 8006")); len(got) != 1 {
		t.Fatalf("sixth distinct signal after repeats: widened %v", got)
	}
}

// TestWindowSlides: signals older than the window are forgotten, exactly
// at the window's end.
func TestWindowSlides(t *testing.T) {
	for _, c := range []struct {
		gap  time.Duration
		want int
	}{{10*time.Minute - time.Nanosecond, 1}, {10 * time.Minute, 0}} {
		r := newRig(t, blocktable.DefaultGuard(), nil)
		r.signal("198.51.100.7 40000 203.0.113.10 8001")
		r.clock.Advance(c.gap)
		for p := 2; p <= 6; p++ {
			r.signal(fmt.Sprintf("198.51.100.7 40000 203.0.113.10 %d", 8000+p))
		}
		if got := r.x.Stats().Widened; got != uint64(c.want) {
			t.Errorf("first signal %v before the others: widened %d, want %d",
				c.gap, got, c.want)
		}
	}
}

func TestWindowForgetsAll(t *testing.T) {
	r := newRig(t, blocktable.DefaultGuard(), nil)
	for p := 1; p <= 5; p++ {
		r.signal(fmt.Sprintf("198.51.100.7 40000 203.0.113.10 %d", 8000+p))
		r.clock.Advance(3 * time.Minute)
	}
	if got := widened(r.signal("198.51.100.7 40000 203.0.113.10 8006")); len(got) != 0 {
		t.Fatalf("widened %v with signals spread over 15 minutes", got)
	}
	r.clock.Advance(10 * time.Minute)
	r.signal("192.0.2.99 1 192.0.2.98 2")
	if st := r.x.Stats(); st.Tracked != 7 || st.Aged == 0 {
		t.Errorf("after the window: %+v, want only the last signal's 7 tracked", st)
	}
}

// TestScannerWidensStepByStep: a scanner moving from one victim to another
// widens again only with signals the first widening does not block, and
// each widening is the most specific that passed.
func TestScannerWidensStepByStep(t *testing.T) {
	r := newRig(t, blocktable.DefaultGuard(), nil)
	var got []string
	for p := 1; p <= 6; p++ {
		got = append(got, widened(r.signal(fmt.Sprintf("198.51.100.7 40000 203.0.113.10 %d",
			p)))...)
	}
	got = append(got, widened(r.signal("198.51.100.7 40000 203.0.113.11 1"))...)
	want := []string{"198.51.100.7 40000 203.0.113.10 0", "198.51.100.7 40000 0.0.0.0/0 0"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("widened %v, want %v", got, want)
	}
}

func TestFiveDistinctSameVictimPort(t *testing.T) {
	r := newRig(t, blocktable.DefaultGuard(), nil)
	var got []string
	for p := 1; p <= 9; p++ {
		got = append(got, widened(r.signal(fmt.Sprintf("198.51.100.7 %d 203.0.113.10 80",
			40000+p)))...)
	}
	if fmt.Sprint(got) != "[198.51.100.7 0 203.0.113.10 80]" {
		t.Errorf("widened %v, want only the pair on port 80", got)
	}
}

// TestRefusedGeneralisation: the table's guard rail refuses the widening
// towards a protected gateway; the decision says why, once, and nothing
// wider is tried instead.
func TestRefusedGeneralisation(t *testing.T) {
	g := blocktable.DefaultGuard()
	g.Protected = []blocktable.Protected{{Prefix: netip.MustParsePrefix("198.51.100.1/32"),
		Label: "gateway"}}
	r := newRig(t, g, nil)
	var ds []Decision
	for p := 1; p <= 8; p++ {
		ds = append(ds, r.signal(fmt.Sprintf("203.0.113.9 %d 198.51.100.1 443", 50000+p))...)
	}
	if len(ds) != 1 || ds[0].Kind != Refused || ds[0].Spec.String() !=
		"203.0.113.9 0 198.51.100.1 443" {
		t.Fatalf("decisions %+v, want one refusal", ds)
	}
	if want := "destination 198.51.100.1 is protected 198.51.100.1 (gateway)"; ds[0].Reason !=
		want {
		t.Errorf("reason %q, want %q", ds[0].Reason, want)
	}
	if st := r.x.Stats(); st.Refused != 1 || st.Widened != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestMemoryBounded(t *testing.T) {
	r := newRig(t, blocktable.DefaultGuard(), func(o *Options) { o.MaxTracked = 100 })
	for i := range 1000 {
		r.x.Ingest(blocktable.Signal{Spec: flowspec.MustParse(fmt.Sprintf(
			"198.51.%d.%d 1 203.0.113.10 80", i/250, i%250+1))})
	}
	if st := r.x.Stats(); st.Tracked != 100 || st.Evicted < 900 {
		t.Errorf("stats %+v, want 100 tracked and the rest evicted", st)
	}
}

func TestShapes(t *testing.T) {
	want := "[src sport dst | src dst dport | src sport dport | src dst | src sport | " +
		"src dport | src]"
	var names []string
	for _, s := range DefaultLattice(1) {
		names = append(names, s.String())
	}
	if got := "[" + strings.Join(names, " | ") + "]"; got != want {
		t.Errorf("DefaultLattice(1) = %s", got)
	}
	if n := len(DefaultLattice(3)); n != 3 {
		t.Errorf("DefaultLattice(3) has %d shapes, want 3", n)
	}
	for _, s := range []string{"src sport dst", "dport", "src dst"} {
		if sh, err := ParseShape(s); err != nil || sh.String() != s {
			t.Errorf("ParseShape(%q) = %v, %v", s, sh, err)
		}
	}
	if _, err := ParseShape("src proto"); err == nil {
		t.Error(`ParseShape("src proto") accepted`)
	}
}

func TestDecisionString(t *testing.T) {
	r := newRig(t, blocktable.DefaultGuard(), nil)
	var ds []Decision
	for p := 1; p <= 6; p++ {
		ds = r.signal(fmt.Sprintf("198.51.100.7 40000 203.0.113.10 %d", p))
	}
	want := `widened to "198.51.100.7 40000 203.0.113.10 0" as entry 7 ` +
		`(kept src sport dst, 6 distinct signals)`
	if len(ds) != 1 || ds[0].String() != want {
		t.Errorf("decisions %v, want [%s]", ds, want)
	}
	if got := ds[0].Signals[0].String(); got !=
		"2025-03-01T12:00:00Z sid:2001 198.51.100.7 40000 203.0.113.10 1" {
		t.Errorf("signal text %q", got)
	}
}

func TestInvalidSignalIgnored(t *testing.T) {
	r := newRig(t, blocktable.DefaultGuard(), nil)
	if ds := r.x.Ingest(blocktable.Signal{Source: "garbage"}); ds != nil {
		t.Errorf("zero spec made decisions %v", ds)
	}
	if st := r.x.Stats(); st.Invalid != 1 || st.Tracked != 0 {
		t.Errorf("stats %+v, want 1 invalid and nothing tracked", st)
	}
}

func TestNewOptions(t *testing.T) {
	tb, _ := blocktable.Open(blocktable.DefaultOptions())
	x, err := New(tb, Options{})
	if err != nil || x.o.Threshold != 5 || x.o.Window != 10*time.Minute ||
		x.o.MaxTracked != 65536 || len(x.o.Lattice) != 7 {
		t.Errorf("New with zero options: %+v, %v; want the defaults", x.o, err)
	}
	bad := []Options{{Threshold: -1}, {Window: -time.Second}, {MaxTracked: 15}}
	for _, o := range bad {
		if _, err := New(tb, o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Error("New(nil table) accepted")
	}
}

// TestNeverWidensToTheVictim: six attackers of one server share only the
// server's address; the default lattice never widens to "any client of
// that server", which would let anyone who can raise six signals cut the
// server off for a year (found by a newcomer's review).
func TestNeverWidensToTheVictim(t *testing.T) {
	r := newRig(t, blocktable.DefaultGuard(), nil)
	for i := 1; i <= 8; i++ {
		ds := r.signal(fmt.Sprintf("198.51.100.%d %d 203.0.113.12 %d", 40+i, 50000+i, 1000+i))
		if got := widened(ds); len(got) != 0 {
			t.Fatalf("signal %d widened to %v", i, got)
		}
	}
}
