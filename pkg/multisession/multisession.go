// Package multisession implements user block classifications: thresholds
// across connections, such as "a source that raises more than 20 alerts of
// classtype attempted-admin within 60 s is blocked as <src>/32 0 any 0".
// Each classification counts alerts per source, destination or pair in a
// sliding window and emits a block signal when the count passes.
//
// Memory is bounded: each classification tracks at most MaxKeys groups and
// evicts the least recently seen. It never logs and never blocks by itself.
package multisession

import (
	"container/list"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/softips/softips/pkg/flowspec"
	"github.com/softips/softips/pkg/invariant"
)

// Rule is one classification.
type Rule struct {
	Name      string
	By        string // "src", "dst" or "pair": what the alerts are grouped by
	Classtype string // only alerts of this classtype count; "" counts all
	Count     int    // signal when more alerts than this fall in Window
	Window    time.Duration
	Keep      invariant.Shape // fields of the alerting flow the signal keeps
}

// Alert is what a classification needs to know of one alert.
type Alert struct {
	Src, Dst  netip.AddrPort
	Classtype string
	Time      time.Time
}

// Signal is a classification's verdict.
type Signal struct {
	Rule  string
	Spec  flowspec.Spec
	Count int // alerts in the window when it fired
}

// DefaultMaxKeys bounds the groups one classification tracks.
const DefaultMaxKeys = 65536

// Tracker applies a set of classifications to a stream of alerts. It is
// not safe for concurrent use.
type Tracker struct {
	rules   []*tracked
	Evicted uint64 // groups dropped for room while still counting
	Fired   uint64
}

type tracked struct {
	Rule
	keys map[key]*list.Element
	lru  list.List // of *group, most recent at the front
	max  int
}

type key struct{ a, b netip.Addr }

type group struct {
	k     key
	times []time.Time // the newest Count+1 alert times, oldest first
}

// New checks the rules and returns a tracker for them.
func New(rules []Rule, maxKeys int) (*Tracker, error) {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	t := &Tracker{}
	for i, r := range rules {
		if err := r.check(); err != nil {
			return nil, fmt.Errorf("multi-session rule %d %q: %w", i, r.Name, err)
		}
		t.rules = append(t.rules, &tracked{Rule: r, keys: map[key]*list.Element{},
			max: maxKeys})
	}
	return t, nil
}

func (r Rule) check() error {
	switch {
	case r.By != "src" && r.By != "dst" && r.By != "pair":
		return fmt.Errorf("by %q: want src, dst or pair", r.By)
	case r.Count < 1:
		return errors.New("count must be at least 1")
	case r.Window <= 0:
		return errors.New("window must be positive")
	case r.Keep&(invariant.Src|invariant.Dst) == 0:
		return errors.New("keep must hold src or dst: a signal needs a fixed address")
	}
	return nil
}

// Observe counts one alert and returns the signals it set off.
func (t *Tracker) Observe(a Alert) []Signal {
	var out []Signal
	for _, r := range t.rules {
		if r.Classtype != "" && r.Classtype != a.Classtype {
			continue
		}
		if n, fired := r.observe(a, &t.Evicted); fired {
			t.Fired++
			out = append(out, Signal{Rule: r.Name, Count: n,
				Spec: invariant.Generalise(flowspec.Exact(a.Src, a.Dst), r.Keep)})
		}
	}
	return out
}

func (r *tracked) observe(a Alert, evicted *uint64) (int, bool) {
	g := r.group(r.keyOf(a), evicted)
	cut := a.Time.Add(-r.Window)
	i := 0
	for i < len(g.times) && !g.times[i].After(cut) {
		i++
	}
	g.times = append(g.times[i:], a.Time)
	if len(g.times) <= r.Count {
		return len(g.times), false
	}
	n := len(g.times)
	g.times = g.times[:0] // fire once per burst, then count afresh
	return n, true
}

func (r *tracked) keyOf(a Alert) key {
	src, dst := a.Src.Addr().Unmap(), a.Dst.Addr().Unmap()
	switch r.By {
	case "src":
		return key{a: src}
	case "dst":
		return key{b: dst}
	}
	return key{a: src, b: dst}
}

func (r *tracked) group(k key, evicted *uint64) *group {
	if e, ok := r.keys[k]; ok {
		r.lru.MoveToFront(e)
		return e.Value.(*group)
	}
	if r.lru.Len() >= r.max {
		old := r.lru.Remove(r.lru.Back()).(*group)
		delete(r.keys, old.k)
		*evicted++
	}
	g := &group{k: k, times: make([]time.Time, 0, r.Count+1)}
	r.keys[k] = r.lru.PushFront(g)
	return g
}
