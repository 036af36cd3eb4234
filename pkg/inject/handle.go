package inject

import (
	"net/netip"
	"time"

	"github.com/softips/softips/pkg/flowspec"
)

// Handle answers one inject request. The first trigger of a flow gets the
// RST pair at once; later ones get RSTs built from their own numbers while
// the flow's budget lasts. Triggers carrying RST (our own, back on the
// mirror) and flows with a protected endpoint get nothing.
func (t *Tracker) Handle(tr Trigger) {
	now := t.cfg.Now()
	t.mu.Lock()
	defer t.mu.Unlock()

	src, dst := tr.Tuple()
	if tr.Has(FlagRST) {
		t.stats.EchoesIgnored++
		if f := t.flows.get(keyOf(src, dst)); f != nil {
			f.echoes++
		}
		return
	}
	if err := tr.Validate(); err != nil {
		t.stats.Invalid++
		t.emit(Event{Kind: EventInvalid, Flow: tuple(src, dst), EntryID: tr.EntryID,
			Err: err, Time: now})
		return
	}
	if t.Protected(src.Addr()) || t.Protected(dst.Addr()) {
		t.stats.Refused++
		t.emit(Event{Kind: EventRefused, Flow: tuple(src, dst), EntryID: tr.EntryID,
			Time: now})
		return
	}

	t.ttls.put(src.Addr(), tr.TTL)
	if f := t.flows.get(keyOf(src, dst)); f != nil {
		f.late = f.late || tr.Late
		f.last = now
		t.flows.touch(f)
		t.later(f, tr, now)
		return
	}
	t.first(tr, now)
}

// first sends the RST pair of a flow never seen and starts following it.
func (t *Tracker) first(tr Trigger, now time.Time) {
	src, dst := tr.Tuple()
	t.makeRoom(now)
	f := t.flows.add(keyOf(src, dst))
	f.src, f.dst, f.entry, f.last, f.state = src, dst, tr.EntryID, now, statePending
	f.late = tr.Late
	n, err := t.answer(f, tr)
	if err != nil {
		t.emit(t.event(EventSendFailed, f, now, err))
		t.forget(f) // the next trigger tries afresh
		return
	}
	f.frames += n
	t.stats.Pending++
	t.emit(t.event(EventPending, f, now, nil))
}

// later answers a further trigger of a followed flow, within its budget.
// Past the budget the flow is reported unconfirmed once and then answered
// at most once per RetryEvery, so a flow that survives every reset is still
// retried, slowly, for as long as it is blocked. A trigger not answered for
// want of budget is held (the newest of each direction) and answered by
// Tick when the flow's retry is due: it may be the flow's last segment,
// the only one whose numbers still reset its receiver (F8).
func (t *Tracker) later(f *flow, tr Trigger, now time.Time) {
	if f.state != stateUnconfirmed && f.answers >= t.cfg.ExtraBudget {
		f.state = stateUnconfirmed
		t.stats.Pending--
		t.stats.Unconfirmed++
		t.emit(t.event(EventUnconfirmed, f, now, nil))
		t.hold(f, tr)
		return
	}
	if f.state == stateUnconfirmed && now.Sub(f.answered) < t.cfg.RetryEvery {
		t.stats.OverBudget++
		t.hold(f, tr)
		return
	}
	t.unhold(f, tr)
	t.reply(f, tr, now)
}

// reply answers a later trigger and charges the flow's budget.
func (t *Tracker) reply(f *flow, tr Trigger, now time.Time) {
	n, err := t.answer(f, tr)
	if n > 0 { // a trigger whose RSTs were all sent before costs no budget
		f.answers++
		f.answered = now
	}
	f.frames += n
	t.stats.ExtraRSTs += uint64(n)
	if err != nil {
		t.emit(t.event(EventSendFailed, f, now, err))
	}
}

// answer builds the RSTs for tr that f has not sent yet and sends them;
// it returns how many were sent. Only sent RSTs are remembered as sent.
func (t *Tracker) answer(f *flow, tr Trigger) (int, error) {
	o := t.cfg.Build
	o.DstTTL = t.ttls.get(tr.Dst.Unmap())
	var keep [2]segment
	n := 0
	for _, s := range t.plan[:planResets(tr, o, &t.plan)] {
		if !f.already(s) {
			keep[n] = s
			n++
		}
	}
	if n == 0 {
		return 0, nil
	}
	frames := t.frames[:0]
	for i, s := range keep[:n] {
		b := t.frames[:cap(t.frames)][i]
		frames = append(frames, writeFrame(b[:0], s, o, t.ipid))
		t.ipid++
	}
	t.frames = frames
	if err := t.send(frames...); err != nil {
		t.stats.SendFailures += uint64(n)
		return 0, err
	}
	for _, s := range keep[:n] {
		f.remember(s)
	}
	t.stats.FramesSent += uint64(n)
	return n, nil
}

// Tick settles flows quiet since now-QuietTime: pending ones are
// confirmed, unconfirmed ones are forgotten (they were reported already).
func (t *Tracker) Tick(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.retryHeld(now)
	t.probeQuiet(now)
	for f := t.flows.oldest(); f != nil && t.quiet(f, now); f = t.flows.oldest() {
		t.settle(f, now)
	}
}

func (t *Tracker) quiet(f *flow, now time.Time) bool {
	return now.Sub(f.last) >= t.cfg.QuietTime
}

// settle removes a quiet flow, confirming it if it was pending.
func (t *Tracker) settle(f *flow, now time.Time) {
	if f.state == statePending {
		t.stats.Pending--
		t.stats.Confirmed++
		t.emit(t.event(EventConfirmed, f, now, nil))
	}
	t.forget(f)
}

// makeRoom frees a slot when the table is full: the least recently active
// flow is settled if quiet, evicted (and counted) otherwise.
func (t *Tracker) makeRoom(now time.Time) {
	if !t.flows.full() {
		return
	}
	f := t.flows.oldest()
	if t.quiet(f, now) {
		t.settle(f, now)
		return
	}
	t.stats.Evicted++
	if f.state == statePending {
		t.stats.Pending--
		t.emit(t.event(EventEvicted, f, now, nil))
	}
	t.forget(f)
}

// forget stops following f and drops what it held.
func (t *Tracker) forget(f *flow) {
	delete(t.held, f.key)
	t.flows.remove(f)
}

func (t *Tracker) event(k EventKind, f *flow, now time.Time, err error) Event {
	return Event{Kind: k, Flow: tuple(f.src, f.dst), EntryID: f.entry, Frames: f.frames,
		Answers: f.answers, Echoes: f.echoes, Err: err, Time: now}
}

func (t *Tracker) emit(e Event) { t.events(e) }

func tuple(src, dst netip.AddrPort) flowspec.Tuple {
	return flowspec.Tuple{Src: src.Addr(), Dst: dst.Addr(), SrcPort: src.Port(),
		DstPort: dst.Port()}
}
