package invariant

import (
	"hash/maphash"

	"github.com/softips/softips/pkg/blocktable"
	"github.com/softips/softips/pkg/flowspec"
)

// record is one ingested signal, shared by all its generalisations.
type record struct {
	sig  blocktable.Signal
	key  flowspec.Spec // canonical: the identity that makes signals distinct
	seen int64         // ingest time, Unix ns
}

// tracked is one generalisation: its newest distinct signals (at most
// threshold+1, newest first, all inside the window) and its LRU links.
// Keeping only the threshold+1 most recent is exact: more than threshold
// distinct signals are in the window if and only if those are.
type tracked struct {
	key        flowspec.Spec
	recs       []*record
	small      [6]*record // backs recs up to the default threshold: one allocation
	prev, next *tracked
	refused    bool // a guard rail refused it; do not ask again
}

// add puts r first (replacing an earlier copy of the same signal), drops
// what left the window or exceeds limit, and returns the distinct count.
func (t *tracked) add(r *record, window int64, limit int) int {
	for i, o := range t.recs {
		if o.key == r.key {
			t.recs = append(t.recs[:i], t.recs[i+1:]...)
			break
		}
	}
	if len(t.recs) >= limit {
		t.recs = t.recs[:limit-1]
	}
	t.recs = append(t.recs, nil)
	copy(t.recs[1:], t.recs)
	t.recs[0] = r
	for n := len(t.recs); n > 0 && t.recs[n-1].seen <= r.seen-window; n-- {
		t.recs = t.recs[:n-1]
	}
	return len(t.recs)
}

// signals returns the evidence, oldest first.
func (t *tracked) signals() []blocktable.Signal {
	out := make([]blocktable.Signal, len(t.recs))
	for i, r := range t.recs {
		out[len(out)-1-i] = r.sig
	}
	return out
}

// track finds or creates the generalisation key and makes it the newest
// in the LRU, evicting the oldest beyond MaxTracked. Keys are hashed to
// keep the map small; a collision is detected and the older key replaced.
func (x *Extractor) track(key flowspec.Spec) *tracked {
	h := maphash.Comparable(x.seed, key)
	t := x.tracked[h]
	if t != nil && t.key != key {
		x.unlink(t)
		delete(x.tracked, h)
		x.st.Evicted++
		t = nil
	}
	if t == nil {
		t = x.newTracked(key)
		x.tracked[h] = t
	} else {
		x.unlink(t)
	}
	t.prev, t.next = &x.lru, x.lru.next
	t.next.prev, x.lru.next = t, t
	return t
}

// newTracked returns an empty generalisation, reusing the oldest one
// when the LRU is full: under a flood, eviction then costs no allocation.
// MaxTracked is at least 16, more than one signal's generalisations, so
// the oldest is never one the current signal touched.
func (x *Extractor) newTracked(key flowspec.Spec) *tracked {
	if len(x.tracked) < x.o.MaxTracked {
		t := &tracked{key: key}
		t.recs = t.small[:0]
		if x.o.Threshold+1 > len(t.small) {
			t.recs = make([]*record, 0, x.o.Threshold+1)
		}
		return t
	}
	t := x.lru.prev
	x.drop(t)
	x.st.Evicted++
	clear(t.recs[:cap(t.recs)])
	t.key, t.recs, t.refused = key, t.recs[:0], false
	return t
}

func (x *Extractor) unlink(t *tracked) {
	t.prev.next, t.next.prev = t.next, t.prev
}

func (x *Extractor) drop(t *tracked) {
	x.unlink(t)
	delete(x.tracked, maphash.Comparable(x.seed, t.key))
}

// age drops, oldest first, the generalisations whose newest signal has
// left the window.
func (x *Extractor) age(now int64) {
	cut := now - x.o.Window.Nanoseconds()
	for t := x.lru.prev; t != &x.lru; t = x.lru.prev {
		if len(t.recs) > 0 && t.recs[0].seen > cut {
			return
		}
		x.drop(t)
		x.st.Aged++
	}
}
