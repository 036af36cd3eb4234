package detect

import (
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// trackBy says whose matches a limiter counts together.
type trackBy uint8

const (
	bySrc trackBy = iota
	byDst
	byRule
	byBoth
	byFlow
)

var trackNames = map[string]trackBy{
	"by_src": bySrc, "by_dst": byDst, "by_rule": byRule, "by_both": byBoth, "by_flow": byFlow,
}

// limiter is a threshold (kind l/t/b) or a detection_filter (kind d).
type limiter struct {
	kind    byte
	track   trackBy
	count   int
	seconds int
}

var thresholdTypes = map[string]byte{"limit": 'l', "threshold": 't', "both": 'b'}

func parseLimiter(kw, v string, filter bool) (*limiter, *RuleError) {
	l := &limiter{kind: 'd'}
	seen := map[string]bool{}
	for _, part := range strings.Split(v, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), " ")
		k, val = strings.TrimSpace(k), strings.TrimSpace(val)
		seen[k] = true
		var ok bool
		switch k {
		case "type":
			l.kind, ok = thresholdTypes[val]
			ok = ok && !filter
		case "track":
			l.track, ok = trackNames[val]
		case "count", "seconds":
			n, err := strconv.Atoi(val)
			ok = err == nil && n > 0
			if k == "count" {
				l.count = n
			} else {
				l.seconds = n
			}
		}
		if !ok {
			return nil, syntaxErr(kw, "%s: bad setting %q", kw,
				strings.TrimSpace(part))
		}
	}
	need := []string{"track", "count", "seconds"}
	if !filter {
		need = append(need, "type")
	}
	for _, n := range need {
		if !seen[n] {
			return nil, syntaxErr(kw, "%s: missing %q", kw, n)
		}
	}
	return l, nil
}

func (b *builder) optThreshold(o option) (err *RuleError) {
	b.r.threshold, err = parseLimiter("threshold", o.value, false)
	return err
}

func (b *builder) optDetectionFilter(o option) (err *RuleError) {
	b.r.filter, err = parseLimiter("detection_filter", o.value, true)
	return err
}

// thrEntry is the running count of one tracked key.
type thrEntry struct {
	start  time.Time
	window time.Duration
	count  int
}

// step counts one match at now and reports whether it may alert.
func (l *limiter) step(e *thrEntry, now time.Time) bool {
	window := time.Duration(l.seconds) * time.Second
	if e.start.IsZero() || now.Sub(e.start) >= window || now.Before(e.start) {
		e.start, e.count, e.window = now, 0, window
	}
	e.count++
	switch l.kind {
	case 'l':
		return e.count <= l.count
	case 't':
		if e.count >= l.count {
			e.count = 0
			return true
		}
		return false
	case 'b':
		return e.count == l.count
	}
	return e.count > l.count
}

type thrKey struct {
	rule int32
	kind byte
	a, b netip.Addr
}

// tracker holds limiter state shared by all flows, bounded in size.
type tracker struct {
	mu  sync.Mutex
	max int
	m   map[thrKey]thrEntry
}

func newTracker(max int) *tracker {
	return &tracker{max: max, m: make(map[thrKey]thrEntry)}
}

func (t *tracker) step(l *limiter, k thrKey, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[k]
	if !ok && len(t.m) >= t.max {
		t.evict(now)
	}
	allow := l.step(&e, now)
	if ok || len(t.m) < t.max {
		t.m[k] = e
	}
	return allow
}

// evict drops entries whose window has passed; a full table of live
// entries stays full and new keys are then counted as fresh each time.
func (t *tracker) evict(now time.Time) {
	for k, e := range t.m {
		if now.Sub(e.start) >= e.window {
			delete(t.m, k)
		}
	}
}

// flowThr is a by_flow limiter entry kept in a FlowState.
type flowThr struct {
	rule int32
	kind byte
	e    thrEntry
}

// limit applies a rule's limiter for this match.
func (e *Engine) limit(l *limiter, r *Rule, c *evalCtx) bool {
	in := c.in
	k := thrKey{rule: int32(r.idx), kind: l.kind}
	switch l.track {
	case bySrc:
		k.a = in.Src.Addr()
	case byDst:
		k.a = in.Dst.Addr()
	case byBoth:
		k.a, k.b = in.Src.Addr(), in.Dst.Addr()
		if k.b.Less(k.a) {
			k.a, k.b = k.b, k.a
		}
	case byFlow:
		return c.fs.flowLimit(l, k, c.now)
	}
	return e.thr.step(l, k, c.now)
}

func (fs *FlowState) flowLimit(l *limiter, k thrKey, now time.Time) bool {
	for i := range fs.thr {
		if t := &fs.thr[i]; t.rule == k.rule && t.kind == k.kind {
			return l.step(&t.e, now)
		}
	}
	fs.thr = append(fs.thr, flowThr{rule: k.rule, kind: k.kind})
	return l.step(&fs.thr[len(fs.thr)-1].e, now)
}
