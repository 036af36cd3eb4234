package inject

import "time"

// held keeps, for a flow past its budget, the newest trigger of each
// direction that was not answered; [0] is from the flow key's lower end.
type held struct {
	tr  [2]Trigger
	has [2]bool
}

// dirOf is the index of tr's direction within f.
func dirOf(f *flow, tr Trigger) int {
	if src, _ := tr.Tuple(); src == f.key.lo {
		return 0
	}
	return 1
}

// hold keeps tr as the newest unanswered trigger of its direction.
func (t *Tracker) hold(f *flow, tr Trigger) {
	h := t.held[f.key]
	if h == nil {
		h = &held{}
		t.held[f.key] = h
	}
	d := dirOf(f, tr)
	h.tr[d], h.has[d] = tr, true
}

// unhold drops the held trigger of tr's direction: tr is newer.
func (t *Tracker) unhold(f *flow, tr Trigger) {
	h := t.held[f.key]
	if h == nil {
		return
	}
	h.has[dirOf(f, tr)] = false
	if !h.has[0] && !h.has[1] {
		delete(t.held, f.key)
	}
}

// retryHeld answers the held triggers of every flow whose retry is due.
func (t *Tracker) retryHeld(now time.Time) {
	for k, h := range t.held {
		f := t.flows.get(k)
		if f == nil {
			delete(t.held, k)
			continue
		}
		if now.Sub(f.answered) < t.cfg.RetryEvery {
			continue
		}
		delete(t.held, k)
		for d := range h.tr {
			if h.has[d] {
				t.reply(f, h.tr[d], now)
			}
		}
	}
}
