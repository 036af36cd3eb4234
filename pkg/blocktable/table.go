package blocktable

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/softips/softips/pkg/flowspec"
)

// ErrFull is returned when a new detector or derived entry would exceed
// Options.MaxEntries. Nothing is evicted to make room.
var ErrFull = errors.New("block table full")

// ErrAdminFull is returned when a new admin entry would exceed
// Options.MaxAdmin.
var ErrAdminFull = errors.New("admin entries at their cap")

// ErrNotFound is returned by Delete for an id or spec the table lacks.
var ErrNotFound = errors.New("no such entry")

// Lifetimes holds the idle lifetime of a non-admin entry by its number of
// fixed fields: index 0 for one field through index 3 for four.
type Lifetimes [4]time.Duration

// DefaultLifetimes returns the table of DESIGN §5: one field 1 year, two
// 10 minutes, three or four 100 seconds.
func DefaultLifetimes() Lifetimes {
	return Lifetimes{365 * 24 * time.Hour, 10 * time.Minute, 100 * time.Second,
		100 * time.Second}
}

// For returns the lifetime of an entry with n fixed fields (1 to 4).
func (l Lifetimes) For(n int) time.Duration { return l[min(max(n, 1), 4)-1] }

// Options configures a Table. Start from DefaultOptions.
type Options struct {
	StateDir   string // where entries persist; "" keeps them in memory only
	MaxEntries int    // cap on detector and derived entries together
	MaxAdmin   int    // separate hard cap on admin entries
	MaxExplain int    // signals kept in each entry's explanation
	Lifetimes  Lifetimes
	Guard      Guard
	Now        func() time.Time // the clock; nil means time.Now
	// SaveEvery, with automatic entries present, makes Flush rewrite the
	// state file at least this often even when nothing changed, so that a
	// crash gives back at most SaveEvery of their idle lifetime; 0 writes
	// only after changes.
	SaveEvery time.Duration
	// OnChange, when set, is called after each change to the set of
	// entries with the new generation, outside the table's lock. The
	// daemon answers it by copying Snapshot into the kernel.
	OnChange func(gen uint64)
}

// DefaultOptions returns 65536 automatic entries, 4096 admin entries, 16
// signals per explanation, the default lifetimes and guard rails, a save
// at least every DefaultSaveEvery, no state directory. The kernel map must
// hold MaxEntries+MaxAdmin entries.
func DefaultOptions() Options {
	return Options{MaxEntries: 65536, MaxAdmin: 4096, MaxExplain: 16,
		Lifetimes: DefaultLifetimes(), Guard: DefaultGuard(), SaveEvery: DefaultSaveEvery}
}

// DefaultSaveEvery is the SaveEvery of DefaultOptions.
const DefaultSaveEvery = 5 * time.Second

// Stats counts what the table has done since Open.
type Stats struct {
	Entries, Admin   int    // current entries, of which admin
	Generation       uint64 // bumped by every change to the set of entries
	Adds             uint64 // new entries
	Superseded       uint64 // automatic entries turned admin
	Deletes          uint64
	Expired          uint64 // aged out, or found expired when loading
	RefusedFull      uint64
	RefusedAdminFull uint64
	RefusedGuard     uint64
	SetAside         uint64 // admin entries moved out at load: the guard rails refuse them
	Persisted        uint64 // state files written
	PersistErrors    uint64
}

// Request asks for one entry. Signals are the evidence; an admin request
// without any gets one with source "admin".
type Request struct {
	Spec           flowspec.Spec
	Origin         Origin
	Comment        string
	Generalisation string // for derived entries: how the spec was made
	Signals        []Signal
}

// Table is the block table. Create it with Open.
type Table struct {
	opts    Options
	saveMu  sync.Mutex // serialises state-file writes; taken before mu
	mu      sync.Mutex
	byID    map[uint64]*item
	bySpec  map[flowspec.Spec]*item // by Canonical spec
	shapes  map[shape]int           // shapes present, for Covering
	nextID  uint64
	admin   int
	dirty   bool      // automatic entries changed since the last write
	savedAt time.Time // last write or load of the state file
	st      Stats
	// warnings are what loading set aside (see setAside).
	warnings []string
}

type item struct {
	Entry
	kernSeen uint64 // the kernel's hit counter when last applied
}

// Open creates a table and loads the state directory, if set. A zero
// clock, explanation bound or lifetime table takes its default. Entries
// found expired are dropped; a corrupt state file is an error naming the
// file and line, never an empty table.
func Open(o Options) (*Table, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxExplain <= 0 {
		o.MaxExplain = 16
	}
	if o.MaxEntries < 0 || o.MaxAdmin < 0 {
		return nil, fmt.Errorf("open block table: negative capacity %d/%d",
			o.MaxEntries, o.MaxAdmin)
	}
	if o.Lifetimes == (Lifetimes{}) {
		o.Lifetimes = DefaultLifetimes()
	}
	for i, l := range o.Lifetimes {
		if l <= 0 {
			return nil, fmt.Errorf("open block table: lifetime for %d fixed fields is %v, "+
				"want positive", i+1, l)
		}
	}
	t := &Table{opts: o, byID: map[uint64]*item{}, bySpec: map[flowspec.Spec]*item{},
		shapes: map[shape]int{}, nextID: 1}
	if err := t.load(); err != nil {
		return nil, fmt.Errorf("open block table: %w", err)
	}
	return t, nil
}

// lock takes the table lock, and the save lock first when the operation
// may write the state file. The returned func releases both and reports
// the new generation, or 0 when the set of entries did not change.
func (t *Table) lock(save bool) func() uint64 {
	if save {
		t.saveMu.Lock()
	}
	t.mu.Lock()
	before := t.st.Generation
	return func() uint64 {
		gen := t.st.Generation
		t.mu.Unlock()
		if save {
			t.saveMu.Unlock()
		}
		if gen == before {
			return 0
		}
		return gen
	}
}

func (t *Table) notify(gen uint64) {
	if gen != 0 && t.opts.OnChange != nil {
		t.opts.OnChange(gen)
	}
}

// Add installs r.Spec, or returns the entry that already holds it (in
// either orientation) with added false. A repeated automatic request
// refreshes the entry's lifetime and adds its signals to the explanation;
// an admin request for an automatic entry supersedes it: the entry keeps
// its id, becomes admin and stops aging. Admin changes are on disk before
// Add returns.
func (t *Table) Add(r Request) (e Entry, added bool, err error) {
	e, added, _, err = t.add(r, false)
	return e, added, err
}

// AddUnlessCovered is Add for a signal: when an entry wider than r.Spec
// blocks it already, nothing is added and that entry is returned with
// covered set. The check and the add happen under one lock.
func (t *Table) AddUnlessCovered(r Request) (e Entry, added, covered bool, err error) {
	return t.add(r, true)
}

func (t *Table) add(r Request, unlessCovered bool) (e Entry, added, covered bool, err error) {
	if err := r.Spec.Validate(); err != nil {
		return Entry{}, false, false, fmt.Errorf("add %q: %w", r.Spec, err)
	}
	if r.Origin < Detector || r.Origin > Admin {
		return Entry{}, false, false, fmt.Errorf("add %q: unknown origin %d", r.Spec,
			r.Origin)
	}
	unlock := t.lock(r.Origin == Admin)
	if w, ok := t.covering(r.Spec, true); unlessCovered && ok {
		t.notify(unlock())
		return w, false, true, nil
	}
	e, added, err = t.addLocked(r)
	t.notify(unlock())
	if err != nil {
		return Entry{}, false, false, fmt.Errorf("add %q: %w", r.Spec, err)
	}
	return e, added, false, nil
}

func (t *Table) addLocked(r Request) (Entry, bool, error) {
	if err := t.opts.Guard.Check(r.Spec, r.Origin); err != nil {
		t.st.RefusedGuard++
		return Entry{}, false, err
	}
	now := t.opts.Now()
	if r.Origin == Admin && len(r.Signals) == 0 {
		r.Signals = []Signal{{Spec: r.Spec, Source: "admin", Time: now}}
	}
	if it, ok := t.bySpec[Canonical(r.Spec)]; ok {
		err := t.readd(it, r, now)
		return it.Entry, false, err
	}
	if err := t.roomFor(r.Origin); err != nil {
		return Entry{}, false, err
	}
	it := t.newItem(r, now)
	if r.Origin == Admin {
		if err := t.persistLocked(); err != nil {
			t.remove(it)
			return Entry{}, false, err
		}
	}
	t.st.Adds++
	return it.Entry, true, nil
}

func (t *Table) roomFor(o Origin) error {
	if o == Admin && t.admin >= t.opts.MaxAdmin {
		t.st.RefusedAdminFull++
		return fmt.Errorf("%w (%d)", ErrAdminFull, t.opts.MaxAdmin)
	}
	if o != Admin && len(t.byID)-t.admin >= t.opts.MaxEntries {
		t.st.RefusedFull++
		return fmt.Errorf("%w (%d automatic entries)", ErrFull, t.opts.MaxEntries)
	}
	return nil
}

func (t *Table) newItem(r Request, now time.Time) *item {
	it := &item{Entry: Entry{ID: t.nextID, Spec: r.Spec, Origin: r.Origin,
		Invariants: r.Spec.Invariants(), Created: now, Comment: r.Comment}}
	t.nextID++
	it.Explanation.Generalisation = r.Generalisation
	it.Explanation.Signals = t.appendSignals(nil, r.Signals)
	if r.Origin != Admin {
		it.Expires = now.Add(t.opts.Lifetimes.For(it.Invariants))
	}
	t.insert(it)
	return it
}

// readd handles a request for a spec the table holds.
func (t *Table) readd(it *item, r Request, now time.Time) error {
	if it.Origin == Admin {
		return nil
	}
	if r.Origin != Admin {
		it.Explanation.Signals = t.appendSignals(it.Explanation.Signals, r.Signals)
		t.refresh(it, now)
		return nil
	}
	if err := t.roomFor(Admin); err != nil {
		return err
	}
	prev := it.Entry
	t.setOrigin(it, Admin)
	it.Expires = time.Time{}
	if r.Comment != "" {
		it.Comment = r.Comment
	}
	it.Explanation.Signals = t.appendSignals(it.Explanation.Signals, r.Signals)
	if err := t.persistLocked(); err != nil {
		t.setOrigin(it, prev.Origin)
		it.Entry = prev
		return err
	}
	t.st.Superseded++
	return nil
}

func (t *Table) setOrigin(it *item, o Origin) {
	if it.Origin == Admin {
		t.admin--
	}
	if o == Admin {
		t.admin++
	}
	it.Origin = o
	t.st.Generation++
	t.dirty = true
}

// refresh restarts the idle lifetime of an automatic entry from at; it
// never shortens it.
func (t *Table) refresh(it *item, at time.Time) {
	if it.Origin == Admin {
		return
	}
	if exp := at.Add(t.opts.Lifetimes.For(it.Invariants)); exp.After(it.Expires) {
		it.Expires = exp
		t.dirty = true
	}
}

// appendSignals returns a new slice (never appending in place, so copies
// handed out stay valid) with the newest MaxExplain signals.
func (t *Table) appendSignals(old, add []Signal) []Signal {
	if len(add) == 0 {
		return old
	}
	all := slices.Concat(old, add)
	if n := len(all) - t.opts.MaxExplain; n > 0 {
		all = all[n:]
	}
	return all
}

func (t *Table) insert(it *item) {
	t.byID[it.ID] = it
	t.bySpec[Canonical(it.Spec)] = it
	t.shapes[shapeOf(Canonical(it.Spec))]++
	if it.Origin == Admin {
		t.admin++
	}
	t.st.Generation++
	t.dirty = true
}

func (t *Table) remove(it *item) {
	delete(t.byID, it.ID)
	key := Canonical(it.Spec)
	delete(t.bySpec, key)
	sh := shapeOf(key)
	if t.shapes[sh]--; t.shapes[sh] == 0 {
		delete(t.shapes, sh)
	}
	if it.Origin == Admin {
		t.admin--
	}
	t.st.Generation++
	t.dirty = true
}

// Delete removes the entry with the given id, whatever its origin, and
// returns it. Removing an admin entry is on disk before Delete returns.
func (t *Table) Delete(id uint64) (Entry, error) {
	unlock := t.lock(true)
	e, err := t.deleteLocked(t.byID[id])
	t.notify(unlock())
	if err != nil {
		return Entry{}, fmt.Errorf("delete entry %d: %w", id, err)
	}
	return e, nil
}

// DeleteSpec removes the entry holding s (in either orientation).
func (t *Table) DeleteSpec(s flowspec.Spec) (Entry, error) {
	unlock := t.lock(true)
	e, err := t.deleteLocked(t.bySpec[Canonical(s)])
	t.notify(unlock())
	if err != nil {
		return Entry{}, fmt.Errorf("delete %q: %w", s, err)
	}
	return e, nil
}

func (t *Table) deleteLocked(it *item) (Entry, error) {
	if it == nil {
		return Entry{}, ErrNotFound
	}
	t.remove(it)
	if it.Origin == Admin {
		if err := t.persistLocked(); err != nil {
			t.insert(it)
			return Entry{}, err
		}
	}
	t.st.Deletes++
	return it.Entry, nil
}

// Expire removes the automatic entries whose idle lifetime has run out
// (Expires at or before now) and returns them.
func (t *Table) Expire() []Entry {
	unlock := t.lock(false)
	now := t.opts.Now()
	var gone []Entry
	for _, it := range t.byID {
		if it.Origin != Admin && !now.Before(it.Expires) {
			t.remove(it)
			gone = append(gone, it.Entry)
		}
	}
	t.st.Expired += uint64(len(gone))
	t.notify(unlock())
	slices.SortFunc(gone, byID)
	return gone
}

// ApplyHits takes the kernel's per-entry counters, keyed by entry id. An
// entry whose counter grew, or whose last hit is newer, is refreshed:
// its lifetime restarts from the last hit (or now, when the kernel's time
// is missing or ahead). A counter lower than before is taken as restarted.
// It returns how many entries were refreshed.
func (t *Table) ApplyHits(hits map[uint64]Hit) int {
	unlock := t.lock(false)
	defer unlock()
	now := t.opts.Now()
	n := 0
	for id, h := range hits {
		if it := t.byID[id]; it != nil && t.applyHit(it, h, now) {
			n++
		}
	}
	return n
}

func (t *Table) applyHit(it *item, h Hit, now time.Time) bool {
	delta := h.Hits
	if h.Hits >= it.kernSeen {
		delta = h.Hits - it.kernSeen
	}
	it.kernSeen = h.Hits
	newer := h.LastHit.After(it.LastHit)
	if delta == 0 && !newer {
		return false
	}
	at := now
	if newer && !h.LastHit.After(now) {
		at = h.LastHit
	}
	it.Hits += delta
	it.LastHit = at
	t.refresh(it, at)
	t.dirty = true
	return true
}

// Get returns the entry with the given id.
func (t *Table) Get(id uint64) (Entry, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if it := t.byID[id]; it != nil {
		return it.Entry, true
	}
	return Entry{}, false
}

// Lookup returns the entry holding exactly s, in either orientation.
func (t *Table) Lookup(s flowspec.Spec) (Entry, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if it := t.bySpec[Canonical(s)]; it != nil {
		return it.Entry, true
	}
	return Entry{}, false
}

// Snapshot returns the generation and all entries, ordered by id. It is
// what the kernel maps must hold.
func (t *Table) Snapshot() (uint64, []Entry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.st.Generation, t.entriesLocked()
}

func (t *Table) entriesLocked() []Entry {
	out := make([]Entry, 0, len(t.byID))
	for _, it := range t.byID {
		out = append(out, it.Entry)
	}
	slices.SortFunc(out, byID)
	return out
}

func byID(a, b Entry) int { return cmp.Compare(a.ID, b.ID) }

// Stats returns the counters and current sizes.
func (t *Table) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.st
	s.Entries, s.Admin = len(t.byID), t.admin
	return s
}
