package invariant

import (
	"cmp"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
	"time"

	"github.com/softips/softips/pkg/blocktable"
	"github.com/softips/softips/pkg/flowspec"
)

// Table is what the extractor needs of the block table; *blocktable.Table
// has it.
type Table interface {
	// CoveringWider reports an entry, other than s itself, blocking s.
	CoveringWider(s flowspec.Spec) (blocktable.Entry, bool)
	// Add installs a derived entry, through the guard rails.
	Add(r blocktable.Request) (blocktable.Entry, bool, error)
}

// Options configures an Extractor. Start from DefaultOptions.
type Options struct {
	Threshold  int           // widen when more than Threshold distinct signals agree
	Window     time.Duration // how long a signal counts
	MaxTracked int           // generalisations tracked at once (LRU), at least 16
	Lattice    []Shape       // shapes considered; nil: DefaultLattice(MinInvariants)
	// MinInvariants is the smallest generalisation DefaultLattice offers.
	MinInvariants int
	Now           func() time.Time // the clock; nil means time.Now
}

// DefaultOptions returns DESIGN §4: more than 5 distinct signals in 10
// minutes, every shape with an address, 65536 tracked generalisations.
func DefaultOptions() Options {
	return Options{Threshold: 5, Window: 10 * time.Minute, MaxTracked: 65536,
		MinInvariants: 1}
}

// Kind is what a Decision did.
type Kind uint8

// The kinds of decision.
const (
	Widened Kind = iota + 1 // a derived entry was installed
	Refused                 // the table refused the generalisation
)

// String returns "widened" or "refused".
func (k Kind) String() string {
	switch k {
	case Widened:
		return "widened"
	case Refused:
		return "refused"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Decision is one widening or refusal, for the daemon to log.
type Decision struct {
	Kind    Kind
	Spec    flowspec.Spec       // the generalisation
	Shape   Shape               // the fields it kept
	Count   int                 // distinct signals behind it in the window
	Entry   blocktable.Entry    // Widened: the installed entry
	Reason  string              // Refused: why, e.g. the guard rail's reason
	Err     error               // Refused: the table's error
	Signals []blocktable.Signal // the evidence, oldest first
}

// Stats counts what the extractor has done.
type Stats struct {
	Signals uint64 // signals ingested
	Invalid uint64 // signals ignored: their spec failed Validate
	Covered uint64 // signals whose generalisation passed but a wider entry blocks them
	Widened uint64
	Refused uint64
	Tracked int    // generalisations tracked now
	Evicted uint64 // dropped from the LRU while still in the window
	Aged    uint64 // dropped when all their signals left the window
}

// Extractor turns a stream of signals into derived entries. It is safe
// for concurrent use.
type Extractor struct {
	mu      sync.Mutex
	o       Options
	table   Table
	seed    maphash.Seed
	tracked map[uint64]*tracked // by hash of the canonical generalisation
	lru     tracked             // sentinel: lru.next is the newest
	st      Stats
}

// New returns an extractor that installs into t. Zero fields of o take
// their DefaultOptions value.
func New(t Table, o Options) (*Extractor, error) {
	if t == nil {
		return nil, errors.New("new extractor: nil table")
	}
	d := DefaultOptions()
	o.Threshold = cmp.Or(o.Threshold, d.Threshold)
	o.Window = cmp.Or(o.Window, d.Window)
	o.MaxTracked = cmp.Or(o.MaxTracked, d.MaxTracked)
	if o.Threshold < 1 || o.Window <= 0 || o.MaxTracked < 16 {
		return nil, fmt.Errorf("new extractor: threshold %d, window %v, max tracked %d: "+
			"want positive, positive, at least 16", o.Threshold, o.Window, o.MaxTracked)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Lattice == nil {
		o.Lattice = DefaultLattice(o.MinInvariants)
	}
	o.Lattice = slices.Clone(o.Lattice)
	sortLattice(o.Lattice)
	x := &Extractor{o: o, table: t, seed: maphash.MakeSeed(),
		tracked: map[uint64]*tracked{}}
	x.lru.next, x.lru.prev = &x.lru, &x.lru
	return x, nil
}

// candidate is a generalisation of the current signal whose count passed.
type candidate struct {
	spec  flowspec.Spec
	shape Shape
	tr    *tracked
}

// Ingest counts one signal and returns the decisions it caused, usually
// none. The signal's own detector entry is the caller's to install.
func (x *Extractor) Ingest(sig blocktable.Signal) []Decision {
	x.mu.Lock()
	defer x.mu.Unlock()
	now := x.o.Now().UnixNano()
	x.st.Signals++
	if sig.Spec.Validate() != nil {
		x.st.Invalid++
		return nil
	}
	x.age(now)
	rec := &record{sig: sig, key: blocktable.Canonical(sig.Spec), seen: now}
	var buf [16]candidate
	passed := x.count(rec, buf[:0])
	if len(passed) == 0 {
		return nil
	}
	if _, ok := x.table.CoveringWider(sig.Spec); ok {
		x.st.Covered++
		return nil
	}
	return x.decide(passed)
}

// count adds rec to every generalisation of its signal in the lattice and
// returns those whose count passed the threshold, most specific first.
func (x *Extractor) count(rec *record, passed []candidate) []candidate {
	fixed := ShapeOf(rec.sig.Spec)
	for _, sh := range x.o.Lattice {
		if sh&fixed != sh || sh == fixed {
			continue
		}
		g := Generalise(rec.sig.Spec, sh)
		tr := x.track(blocktable.Canonical(g))
		if tr.add(rec, x.o.Window.Nanoseconds(), x.o.Threshold+1) > x.o.Threshold {
			passed = append(passed, candidate{g, sh, tr})
		}
	}
	return passed
}

// decide tries the candidates of the most specific level that passed,
// highest count first, and stops at the first the table accepts. It never
// falls back to a wider level: a refusal must not turn into a wider block.
// A generalisation refused by a guard rail is reported once.
func (x *Extractor) decide(passed []candidate) []Decision {
	n := 1
	for n < len(passed) && passed[n].shape.Fields() == passed[0].shape.Fields() {
		n++
	}
	top := passed[:n] // the lattice is ordered most specific first
	slices.SortStableFunc(top, func(a, b candidate) int { return len(b.tr.recs) - len(a.tr.recs) })
	var ds []Decision
	for _, c := range top {
		if c.tr.refused {
			continue
		}
		d := x.install(c)
		ds = append(ds, d)
		if d.Kind == Widened {
			break
		}
	}
	return ds
}

func (x *Extractor) install(c candidate) Decision {
	d := Decision{Spec: c.spec, Shape: c.shape, Count: len(c.tr.recs),
		Signals: c.tr.signals()}
	how := fmt.Sprintf("kept %s: %d distinct signals in %v", c.shape, d.Count, x.o.Window)
	e, _, err := x.table.Add(blocktable.Request{Spec: c.spec, Origin: blocktable.Derived,
		Generalisation: how, Signals: d.Signals})
	if err == nil {
		d.Kind, d.Entry = Widened, e
		x.st.Widened++
		return d
	}
	d.Kind, d.Err, d.Reason = Refused, err, err.Error()
	if re := (*blocktable.RefusedError)(nil); errors.As(err, &re) {
		d.Reason = re.Reason
		c.tr.refused = true
	}
	x.st.Refused++
	return d
}

// Stats returns the counters.
func (x *Extractor) Stats() Stats {
	x.mu.Lock()
	defer x.mu.Unlock()
	s := x.st
	s.Tracked = len(x.tracked)
	return s
}

// String formats the decision for a log line or the API.
func (d Decision) String() string {
	if d.Kind == Widened {
		return fmt.Sprintf("widened to %q as entry %d (kept %s, %d distinct signals)",
			d.Spec, d.Entry.ID, d.Shape, d.Count)
	}
	return fmt.Sprintf("refused %q (kept %s, %d distinct signals): %s", d.Spec, d.Shape,
		d.Count, d.Reason)
}
