package blocktable

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/softips/softips/pkg/flowspec"
)

// TestAgingTable checks each row of DESIGN §5: alive one nanosecond
// before its lifetime, gone at it.
func TestAgingTable(t *testing.T) {
	rows := []struct {
		spec string
		life time.Duration
	}{
		{"198.51.100.7 0 0.0.0.0/0 0", 365 * 24 * time.Hour},
		{"198.51.100.7 0 0.0.0.0/0 80", 10 * time.Minute},
		{"198.51.100.7 0 203.0.113.10 80", 100 * time.Second},
		{"198.51.100.7 40000 203.0.113.10 80", 100 * time.Second},
	}
	for _, o := range []Origin{Detector, Derived} {
		for _, r := range rows {
			c := newClock()
			tb := open(t, c, nil)
			e := mustAdd(t, tb, req(r.spec, o))
			if want := t0.Add(r.life); !e.Expires.Equal(want) {
				t.Errorf("%s %q: Expires %v, want %v", o, r.spec, e.Expires, want)
			}
			c.Advance(r.life - time.Nanosecond)
			if got := expiredIDs(tb); len(got) != 0 {
				t.Errorf("%s %q: expired %v before its lifetime", o, r.spec, got)
			}
			c.Advance(time.Nanosecond)
			if got := expiredIDs(tb); !slices.Equal(got, []uint64{e.ID}) {
				t.Errorf("%s %q: expired %v at its lifetime, want [%d]", o, r.spec, got, e.ID)
			}
		}
	}
}

func TestAgingConfigurable(t *testing.T) {
	c := newClock()
	tb := open(t, c, func(o *Options) { o.Lifetimes[2] = 5 * time.Second })
	mustAdd(t, tb, req("198.51.100.7 0 203.0.113.10 80", Detector))
	c.Advance(5 * time.Second)
	if got := tb.Expire(); len(got) != 1 {
		t.Fatalf("3-field entry with a 5s lifetime: expired %d after 5s, want 1", len(got))
	}
	if st := tb.Stats(); st.Expired != 1 || st.Entries != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestHitRefreshes(t *testing.T) {
	c := newClock()
	tb := open(t, c, nil)
	e := mustAdd(t, tb, req("198.51.100.7 0 203.0.113.10 80", Detector))
	steps := []struct {
		advance   time.Duration
		hit       Hit
		refreshed int
		expires   time.Time
	}{
		{90 * time.Second, Hit{Hits: 3, LastHit: t0.Add(80 * time.Second)}, 1,
			t0.Add(180 * time.Second)},
		{10 * time.Second, Hit{Hits: 3, LastHit: t0.Add(80 * time.Second)}, 0,
			t0.Add(180 * time.Second)},
		{10 * time.Second, Hit{Hits: 4}, 1, t0.Add(210 * time.Second)},
		{10 * time.Second, Hit{Hits: 4, LastHit: t0.Add(time.Hour)}, 1,
			t0.Add(220 * time.Second)},
		{10 * time.Second, Hit{Hits: 1}, 1, t0.Add(230 * time.Second)},
	}
	for i, s := range steps {
		c.Advance(s.advance)
		if n := tb.ApplyHits(map[uint64]Hit{e.ID: s.hit, 999: {Hits: 1}}); n != s.refreshed {
			t.Errorf("step %d: refreshed %d, want %d", i, n, s.refreshed)
		}
		got, _ := tb.Get(e.ID)
		if !got.Expires.Equal(s.expires) {
			t.Errorf("step %d: Expires %v, want %v", i, got.Expires, s.expires)
		}
	}
	if got, _ := tb.Get(e.ID); got.Hits != 5 {
		t.Errorf("Hits = %d, want 5 (3, +1, then a restarted counter at 1)", got.Hits)
	}
	c.t = t0.Add(230*time.Second - time.Nanosecond)
	if len(tb.Expire()) != 0 {
		t.Error("refreshed entry expired early")
	}
	c.Advance(time.Nanosecond)
	if len(tb.Expire()) != 1 {
		t.Error("refreshed entry did not expire at its new time")
	}
}

func TestAdminNeverExpires(t *testing.T) {
	c := newClock()
	tb := open(t, c, nil)
	e := mustAdd(t, tb, req("198.51.100.7 40000 203.0.113.10 80", Admin))
	if !e.Expires.IsZero() {
		t.Errorf("admin Expires = %v, want zero", e.Expires)
	}
	c.Advance(20 * 365 * 24 * time.Hour)
	if got := tb.Expire(); len(got) != 0 {
		t.Errorf("admin entry expired: %v", got)
	}
	if _, ok := tb.Get(e.ID); !ok {
		t.Error("admin entry gone")
	}
}

func TestAddIdempotent(t *testing.T) {
	c := newClock()
	tb := open(t, c, nil)
	e1, added1, _ := tb.Add(req("198.51.100.7 40000 203.0.113.10 80", Detector))
	c.Advance(50 * time.Second)
	e2, added2, _ := tb.Add(req("203.0.113.10 80 198.51.100.7 40000", Detector))
	if !added1 || added2 || e1.ID != e2.ID {
		t.Fatalf("add twice: ids %d/%d added %v/%v, want one entry", e1.ID, e2.ID,
			added1, added2)
	}
	if want := t0.Add(150 * time.Second); !e2.Expires.Equal(want) {
		t.Errorf("repeated signal: Expires %v, want refreshed to %v", e2.Expires, want)
	}
	if n := len(e2.Explanation.Signals); n != 2 {
		t.Errorf("explanation holds %d signals, want 2", n)
	}
	if st := tb.Stats(); st.Adds != 1 || st.Entries != 1 {
		t.Errorf("stats %+v, want 1 add and 1 entry", st)
	}
}

func TestExplanationBounded(t *testing.T) {
	tb := open(t, newClock(), func(o *Options) { o.MaxExplain = 3 })
	var e Entry
	for i := range 5 {
		r := req("198.51.100.7 40000 203.0.113.10 80", Detector)
		r.Signals[0].Source = string(rune('a' + i))
		e, _, _ = tb.Add(r)
	}
	var got string
	for _, s := range e.Explanation.Signals {
		got += s.Source
	}
	if got != "cde" {
		t.Errorf("explanation sources %q, want the newest three %q", got, "cde")
	}
}

func TestAdminSupersedes(t *testing.T) {
	c := newClock()
	tb := open(t, c, nil)
	d := mustAdd(t, tb, req("198.51.100.7 0 203.0.113.10 80", Derived))
	r := req("198.51.100.7 0 203.0.113.10 80", Admin)
	r.Comment, r.Signals = "known scanner", nil
	a, added, err := tb.Add(r)
	if err != nil || added || a.ID != d.ID || a.Origin != Admin || !a.Expires.IsZero() ||
		a.Comment != "known scanner" {
		t.Fatalf("supersede: %+v added=%v err=%v", a, added, err)
	}
	if src := a.Explanation.Signals[len(a.Explanation.Signals)-1].Source; src != "admin" {
		t.Errorf("last explanation source %q, want admin", src)
	}
	back, _, _ := tb.Add(req("198.51.100.7 0 203.0.113.10 80", Detector))
	if back.Origin != Admin {
		t.Errorf("detector add after admin turned it back into %s", back.Origin)
	}
	c.Advance(24 * time.Hour)
	if len(tb.Expire()) != 0 {
		t.Error("superseded entry aged")
	}
	if st := tb.Stats(); st.Superseded != 1 || st.Admin != 1 || st.Adds != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestIDsNeverReused(t *testing.T) {
	tb := open(t, newClock(), nil)
	a := mustAdd(t, tb, req("198.51.100.7 0 203.0.113.10 80", Detector))
	if _, err := tb.Delete(a.ID); err != nil {
		t.Fatal(err)
	}
	b := mustAdd(t, tb, req("198.51.100.7 0 203.0.113.10 80", Detector))
	if b.ID <= a.ID {
		t.Errorf("id %d after deleting %d: reused", b.ID, a.ID)
	}
	if _, err := tb.Delete(a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete gone id: %v, want ErrNotFound", err)
	}
	if _, err := tb.DeleteSpec(flowspec.MustParse("203.0.113.10 80 198.51.100.7 0")); err != nil {
		t.Errorf("DeleteSpec reversed: %v", err)
	}
}

func TestCapacity(t *testing.T) {
	tb := open(t, newClock(), func(o *Options) { o.MaxEntries, o.MaxAdmin = 2, 1 })
	mustAdd(t, tb, req("198.51.100.7 0 203.0.113.10 80", Detector))
	mustAdd(t, tb, req("198.51.100.8 0 203.0.113.10 80", Derived))
	steps := []struct {
		spec   string
		origin Origin
		want   error
	}{
		{"198.51.100.9 0 203.0.113.10 80", Detector, ErrFull},
		{"198.51.100.9 0 203.0.113.10 80", Derived, ErrFull},
		{"198.51.100.7 0 203.0.113.10 80", Detector, nil}, // existing: idempotent
		{"198.51.100.50 0 0.0.0.0/0 0", Admin, nil},       // admin not blocked by a full table
		{"198.51.100.51 0 0.0.0.0/0 0", Admin, ErrAdminFull},
		{"198.51.100.8 0 203.0.113.10 80", Admin, ErrAdminFull}, // supersede needs room too
	}
	for _, s := range steps {
		if _, _, err := tb.Add(req(s.spec, s.origin)); !errors.Is(err, s.want) ||
			(s.want == nil) != (err == nil) {
			t.Errorf("add %s %q: %v, want %v", s.origin, s.spec, err, s.want)
		}
	}
	st := tb.Stats()
	if st.RefusedFull != 2 || st.RefusedAdminFull != 2 || st.Entries != 3 || st.Admin != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestCovering(t *testing.T) {
	tb := open(t, newClock(), nil)
	mustAdd(t, tb, req("198.51.100.7 0 203.0.113.10 80", Derived))
	mustAdd(t, tb, req("198.51.100.0/24 0 0.0.0.0/0 22", Detector))
	mustAdd(t, tb, req("2001:db8::10 0 2001:db8::20 443", Detector))
	cases := []struct {
		spec          string
		covered, wide bool
	}{
		{"198.51.100.7 40000 203.0.113.10 80", true, true},
		{"203.0.113.10 80 198.51.100.7 40000", true, true},
		{"198.51.100.7 0 203.0.113.10 80", true, false},
		{"198.51.100.7 0 203.0.113.10 0", false, false},
		{"198.51.100.7 40000 203.0.113.10 81", false, false},
		{"198.51.100.9 5000 192.0.2.1 22", true, true},
		{"192.0.2.1 22 198.51.100.9 5000", true, true},
		{"198.51.100.0/25 0 0.0.0.0/0 22", true, true},
		{"198.51.0.0/16 0 0.0.0.0/0 22", false, false},
		{"2001:db8::10 51000 2001:db8::20 443", true, true},
		{"2001:db8::20 443 2001:db8::10 51000", true, true},
	}
	for _, c := range cases {
		s := flowspec.MustParse(c.spec)
		if _, ok := tb.Covering(s); ok != c.covered {
			t.Errorf("Covering(%q) = %v, want %v", c.spec, ok, c.covered)
		}
		if _, ok := tb.CoveringWider(s); ok != c.wide {
			t.Errorf("CoveringWider(%q) = %v, want %v", c.spec, ok, c.wide)
		}
	}
}

// TestOneChangePath checks that every change to the set of entries, and
// nothing else, reaches the sync hook, and that Snapshot is in step.
func TestOneChangePath(t *testing.T) {
	c := newClock()
	var gens []uint64
	tb := open(t, c, func(o *Options) { o.OnChange = func(g uint64) { gens = append(gens, g) } })
	a := mustAdd(t, tb, req("198.51.100.7 0 203.0.113.10 80", Detector))
	mustAdd(t, tb, req("198.51.100.7 0 203.0.113.10 80", Detector)) // no change
	tb.ApplyHits(map[uint64]Hit{a.ID: {Hits: 1}})                   // no change
	b := mustAdd(t, tb, req("198.51.100.8 0 203.0.113.10 80", Detector))
	tb.Add(req("198.51.100.1 0 0.0.0.0/0 0", Admin)) // change
	tb.Delete(b.ID)
	c.Advance(time.Hour)
	tb.Expire()
	if len(gens) != 5 || !slices.IsSorted(gens) {
		t.Fatalf("hook generations %v, want 5 increasing "+
			"(add, add, admin add, delete, expire)", gens)
	}
	gen, snap := tb.Snapshot()
	if gen != gens[len(gens)-1] || len(snap) != 1 || snap[0].Origin != Admin {
		t.Errorf("Snapshot gen %d entries %+v", gen, snap)
	}
}

func TestAddRejectsBadInput(t *testing.T) {
	tb := open(t, newClock(), nil)
	if _, _, err := tb.Add(Request{Origin: Admin}); err == nil {
		t.Error("zero spec accepted")
	}
	noOrigin := Request{Spec: flowspec.MustParse("198.51.100.7 0 0.0.0.0/0 0")}
	if _, _, err := tb.Add(noOrigin); err == nil {
		t.Error("missing origin accepted")
	}
}

func TestOpenRejectsZeroLifetime(t *testing.T) {
	o := DefaultOptions()
	o.Lifetimes[1] = 0
	if _, err := Open(o); err == nil || err.Error() !=
		"open block table: lifetime for 2 fixed fields is 0s, want positive" {
		t.Errorf("Open with a zero lifetime: %v", err)
	}
}

// TestAddUnlessCovered: a signal under a wider entry adds nothing and
// names that entry; an exact repeat is the existing entry, not covered.
func TestAddUnlessCovered(t *testing.T) {
	tb := open(t, newClock(), nil)
	w := mustAdd(t, tb, req("198.51.100.7 40000 203.0.113.10 0", Derived))
	e, added, covered, err := tb.AddUnlessCovered(req("198.51.100.7 40000 203.0.113.10 80",
		Detector))
	if err != nil || added || !covered || e.ID != w.ID {
		t.Errorf("covered signal: %+v added %v covered %v err %v", e, added, covered, err)
	}
	e, added, covered, err = tb.AddUnlessCovered(req("198.51.100.7 40000 203.0.113.10 0",
		Detector))
	if err != nil || added || covered || e.ID != w.ID {
		t.Errorf("exact repeat: %+v added %v covered %v err %v", e, added, covered, err)
	}
	if st := tb.Stats(); st.Entries != 1 {
		t.Errorf("%d entries, want 1", st.Entries)
	}
}
