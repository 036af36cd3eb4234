package blocktable

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func openDir(t *testing.T, c *fakeClock, dir string) *Table {
	t.Helper()
	return open(t, c, func(o *Options) { o.StateDir = dir })
}

// TestPersistRoundTrip saves admin, derived and detector entries, reopens
// with the clock moved an hour on, and finds them whole, with the idle
// lifetime they had left when saved.
func TestPersistRoundTrip(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	tb := openDir(t, c, dir)
	ad := Request{Spec: req("198.51.100.7 0 0.0.0.0/0 0", Admin).Spec, Origin: Admin,
		Comment: "scanner, ticket 42"}
	a := mustAdd(t, tb, ad)
	d := req("198.51.100.8 40000 203.0.113.10 0", Derived)
	d.Generalisation = "kept src sport dst: 6 distinct signals in 10m0s"
	de := mustAdd(t, tb, d)
	x := mustAdd(t, tb, req("198.51.100.9 40000 203.0.113.10 80", Detector))
	c.Advance(40 * time.Second)
	if err := tb.Flush(); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Hour)
	re := openDir(t, c, dir)
	_, got := re.Snapshot()
	if len(got) != 3 {
		t.Fatalf("reloaded %d entries, want 3", len(got))
	}
	checkSame(t, got[0], a, time.Time{})
	checkSame(t, got[1], de, c.t.Add(60*time.Second))
	checkSame(t, got[2], x, c.t.Add(60*time.Second))
	n := mustAdd(t, re, req("198.51.100.10 0 203.0.113.10 80", Detector))
	if n.ID != x.ID+1 {
		t.Errorf("next id after reload %d, want %d", n.ID, x.ID+1)
	}
}

func checkSame(t *testing.T, got, want Entry, expires time.Time) {
	t.Helper()
	if got.ID != want.ID || got.Spec != want.Spec || got.Origin != want.Origin ||
		got.Comment != want.Comment || !got.Created.Equal(want.Created) ||
		got.Explanation.Generalisation != want.Explanation.Generalisation ||
		len(got.Explanation.Signals) != len(want.Explanation.Signals) {
		t.Errorf("reloaded %+v\nwant %+v", got, want)
	}
	if !got.Expires.Equal(expires) {
		t.Errorf("entry %d: Expires %v, want %v", got.ID, got.Expires, expires)
	}
	for i, s := range got.Explanation.Signals {
		w := want.Explanation.Signals[i]
		if s.Spec != w.Spec || s.Source != w.Source || !s.Time.Equal(w.Time) {
			t.Errorf("entry %d signal %d: %+v, want %+v", got.ID, i, s, w)
		}
	}
}

func TestAdminWrittenAtOnce(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	tb := openDir(t, c, dir)
	a := mustAdd(t, tb, req("198.51.100.7 0 0.0.0.0/0 0", Admin))
	if got, ok := openDir(t, c, dir).Get(a.ID); !ok || got.Origin != Admin {
		t.Fatal("admin entry not on disk without Flush")
	}
	if _, err := tb.Delete(a.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := openDir(t, c, dir).Get(a.ID); ok {
		t.Fatal("deleted admin entry back after reload")
	}
	if st := tb.Stats(); st.Persisted != 2 {
		t.Errorf("Persisted = %d, want 2", st.Persisted)
	}
}

// TestAdminPersistFailureRollsBack: an admin add that cannot reach the
// disk is not in the table either.
func TestAdminPersistFailureRollsBack(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	tb := openDir(t, newClock(), dir)
	mustAdd(t, tb, req("198.51.100.8 0 203.0.113.10 80", Detector))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tb.Add(req("198.51.100.7 0 0.0.0.0/0 0", Admin)); err == nil {
		t.Fatal("admin add succeeded with no state directory")
	}
	if _, _, err := tb.Add(req("198.51.100.8 0 203.0.113.10 80", Admin)); err == nil {
		t.Fatal("supersede succeeded with no state directory")
	}
	_, snap := tb.Snapshot()
	st := tb.Stats()
	if len(snap) != 1 || snap[0].Origin != Detector || st.Admin != 0 || st.PersistErrors != 2 {
		t.Errorf("after failed writes: %+v, stats %+v", snap, st)
	}
}

func TestExpiredDroppedOnLoad(t *testing.T) {
	dir := t.TempDir()
	writeState(t, dir, `{"format":"softips-blocktable","version":1,"next_id":9,"entries":2}`,
		`{"id":3,"spec":"198.51.100.7 0 203.0.113.10 80","origin":"detector",`+
			`"created":"2025-03-01T12:00:00Z","remaining":"0s"}`,
		`{"id":4,"spec":"198.51.100.8 0 203.0.113.10 80","origin":"derived",`+
			`"created":"2025-03-01T12:00:00Z","remaining":"1s"}`)
	tb := openDir(t, newClock(), dir)
	if _, snap := tb.Snapshot(); len(snap) != 1 || snap[0].ID != 4 {
		t.Errorf("loaded %+v, want only entry 4", snap)
	}
	if st := tb.Stats(); st.Expired != 1 {
		t.Errorf("Expired = %d, want 1", st.Expired)
	}
	if e := mustAdd(t, tb, req("198.51.100.9 0 203.0.113.10 80", Detector)); e.ID != 9 {
		t.Errorf("new id %d, want next_id 9", e.ID)
	}
}

func writeState(t *testing.T, dir string, lines ...string) {
	t.Helper()
	data := strings.Join(lines, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, StateFile), []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestCrashLeftovers: a crash mid-write leaves a truncated temp file and
// the previous state file; the table loads the latter and ignores (and
// removes) the former.
func TestCrashLeftovers(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	a := mustAdd(t, openDir(t, c, dir), req("198.51.100.7 0 0.0.0.0/0 0", Admin))
	tmp := filepath.Join(dir, "."+StateFile+".tmp-12345")
	if err := os.WriteFile(tmp, []byte(`{"format":"softips-blo`), 0o600); err != nil {
		t.Fatal(err)
	}
	tb := openDir(t, c, dir)
	if _, ok := tb.Get(a.ID); !ok {
		t.Error("state lost next to a truncated temp file")
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp file left in place: %v", err)
	}
	des, _ := os.ReadDir(dir)
	if len(des) != 1 {
		t.Errorf("state dir holds %d files, want only %s", len(des), StateFile)
	}
}

func TestCorruptState(t *testing.T) {
	hdr := `{"format":"softips-blocktable","version":1,"next_id":5,"entries":2}`
	good := `{"id":1,"spec":"198.51.100.7 0 0.0.0.0/0 0","origin":"admin",` +
		`"created":"2025-03-01T12:00:00Z"}`
	cases := []struct {
		name  string
		lines []string
		want  string
	}{
		{"empty", []string{""}, `line 1: header: EOF`},
		{"truncated", []string{hdr, good}, "line 2: file ends after 1 of 2 entries"},
		{"cut mid-line", []string{hdr, good, `{"id":2,"spec":"198.5`},
			"line 3: entry: unexpected EOF"},
		{"garbage", []string{hdr, good, `{"id":2,,}`},
			"line 3 column 9: entry: invalid character ','"},
		{"bad spec", []string{hdr, good, `{"id":2,"spec":"198.51.100.7/24 0 0.0.0.0/0 0",` +
			`"origin":"admin","created":"2025-03-01T12:00:00Z"}`},
			"line 3: entry 2: field 1 (source address)"},
		{"unknown field", []string{hdr, good, `{"id":2,"colour":"red"}`},
			`line 3: entry: json: unknown field "colour"`},
		{"repeated spec", []string{hdr, good, strings.Replace(good, `"id":1`, `"id":2`, 1)},
			`line 3: entry 2: spec "198.51.100.7 0 0.0.0.0/0 0" repeated`},
		{"wrong format", []string{`{"format":"other","version":1}`},
			`line 1: header: format "other" version 1`},
		{"no lifetime", []string{hdr, good, `{"id":2,"spec":"198.51.100.8 0 0.0.0.0/0 0",` +
			`"origin":"derived","created":"2025-03-01T12:00:00Z"}`},
			`line 3: entry 2: remaining "": not a duration`},
	}
	for _, c := range cases {
		dir := t.TempDir()
		writeState(t, dir, c.lines...)
		o := DefaultOptions()
		o.StateDir = dir
		_, err := Open(o)
		path := filepath.Join(dir, StateFile)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) ||
			!strings.Contains(err.Error(), path) {
			t.Errorf("%s: Open error %v\nwant ErrCorrupt naming %q and %q", c.name, err, path,
				c.want)
		}
	}
}

// TestLoadAppliesGuard: rails tightened since the last run drop automatic
// entries they now refuse and set admin ones aside (see
// TestAdminRefusedAtLoadIsSetAside), never loading either.
func TestLoadAppliesGuard(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	tb := openDir(t, c, dir)
	mustAdd(t, tb, req("198.51.100.1 0 203.0.113.10 80", Detector))
	if err := tb.Flush(); err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	o.StateDir, o.Now, o.Guard = dir, c.Now, f5Guard()
	re, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	if st := re.Stats(); st.Entries != 0 || st.RefusedGuard != 1 {
		t.Errorf("stats %+v, want the protected detector entry dropped", st)
	}
	mustAdd(t, openDir(t, c, dir), req("198.51.100.2 0 0.0.0.0/0 0", Admin))
	re, err = Open(o)
	if err != nil {
		t.Fatalf("protected admin entry on load: %v, want it set aside", err)
	}
	if st := re.Stats(); st.Entries != 0 || st.SetAside != 1 ||
		len(re.LoadWarnings()) != 1 {
		t.Errorf("stats %+v, warnings %q: want the admin entry set aside, not loaded",
			st, re.LoadWarnings())
	}
}

// TestFlushKeepsLifetimesFresh: an idle automatic entry changes nothing,
// yet its remaining lifetime on disk must follow the clock, or a crash
// gives it back the idle time since the last write. Flush rewrites the
// state once SaveEvery has passed, and only then; with admin entries alone
// it writes nothing.
func TestFlushKeepsLifetimesFresh(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	tb := open(t, c, func(o *Options) { o.StateDir, o.SaveEvery = dir, 5*time.Second })
	mustAdd(t, tb, req("198.51.100.7 0 0.0.0.0/0 0", Admin))
	c.Advance(time.Minute)
	if err := tb.Flush(); err != nil || tb.Stats().Persisted != 1 {
		t.Fatalf("admin only: Flush wrote %d times (err %v), want 1 (the add)",
			tb.Stats().Persisted, err)
	}
	d := mustAdd(t, tb, req("198.51.100.8 40000 203.0.113.10 0", Derived))
	steps := []struct {
		advance time.Duration
		writes  uint64
	}{{0, 2}, {4 * time.Second, 2}, {time.Second, 3}, {3 * time.Second, 3}, {2 * time.Second, 4}}
	for i, s := range steps {
		c.Advance(s.advance)
		if err := tb.Flush(); err != nil {
			t.Fatal(err)
		}
		if got := tb.Stats().Persisted; got != s.writes {
			t.Errorf("step %d (+%v): %d writes, want %d", i, s.advance, got, s.writes)
		}
	}
	left := d.Expires.Sub(c.t) // 100 s lifetime, 10 s idle
	c.Advance(time.Hour)       // a crash, and downtime
	got, ok := openDir(t, c, dir).Get(d.ID)
	if !ok || !got.Expires.Equal(c.t.Add(left)) {
		t.Errorf("after the crash: %v left (found %v), want the %v it had", got.Expires.Sub(c.t),
			ok, left)
	}
}

// TestAdminRefusedAtLoadIsSetAside: an admin entry that the guard rails
// refuse when the table is loaded (the allowlist grew) does not stop the
// daemon: it is moved to SetAsideFile, reported, and left out.
func TestAdminRefusedAtLoadIsSetAside(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	tb := openDir(t, c, dir)
	mustAdd(t, tb, Request{Spec: req("198.51.100.77 0 0.0.0.0/0 0", Admin).Spec, Origin: Admin,
		Comment: "kept"})
	mustAdd(t, tb, Request{Spec: req("203.0.113.50 0 0.0.0.0/0 0", Admin).Spec, Origin: Admin})
	re := open(t, c, func(o *Options) {
		o.StateDir = dir
		o.Guard.Protected = []Protected{{Prefix: mustPrefix("203.0.113.0/24"),
			Label: "never_block"}}
	})
	_, got := re.Snapshot()
	if len(got) != 1 || got[0].Spec.String() != "198.51.100.77 0 0.0.0.0/0 0" {
		t.Fatalf("loaded %v, want only the entry the rails allow", got)
	}
	w := re.LoadWarnings()
	if len(w) != 1 || !strings.Contains(w[0], `admin entry 2 "203.0.113.50 0 0.0.0.0/0 0" set aside`) {
		t.Errorf("warnings %q", w)
	}
	b, err := os.ReadFile(filepath.Join(dir, SetAsideFile))
	if err != nil || !strings.Contains(string(b), `"203.0.113.50 0 0.0.0.0/0 0"`) {
		t.Errorf("set-aside file: %q, %v", b, err)
	}
	if re.Stats().SetAside != 1 {
		t.Errorf("stats %+v, want SetAside 1", re.Stats())
	}
}
