package blocktable

import (
	"testing"
	"time"

	"github.com/softips/softips/pkg/flowspec"
)

// fakeClock is the injected clock of every test: time moves only when a
// test says so.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newClock() *fakeClock { return &fakeClock{t: t0} }

func open(t *testing.T, c *fakeClock, mod func(*Options)) *Table {
	t.Helper()
	o := DefaultOptions()
	o.Now = c.Now
	if mod != nil {
		mod(&o)
	}
	tb, err := Open(o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return tb
}

func req(spec string, o Origin) Request {
	s := flowspec.MustParse(spec)
	return Request{Spec: s, Origin: o, Signals: []Signal{{Spec: s, Source: "sid:2001",
		Time: t0}}}
}

func mustAdd(t *testing.T, tb *Table, r Request) Entry {
	t.Helper()
	e, _, err := tb.Add(r)
	if err != nil {
		t.Fatalf("Add(%s): %v", r.Spec, err)
	}
	return e
}

func expiredIDs(tb *Table) []uint64 {
	var ids []uint64
	for _, e := range tb.Expire() {
		ids = append(ids, e.ID)
	}
	return ids
}

// f5Guard is the protected set of known fault F5.
func f5Guard() Guard {
	g := DefaultGuard()
	g.Protected = []Protected{
		{Prefix: mustPrefix("198.51.100.2/32"), Label: "sensor"},
		{Prefix: mustPrefix("198.51.100.1/32"), Label: "gateway"},
		{Prefix: mustPrefix("203.0.113.224/28"), Label: "management"},
	}
	return g
}
