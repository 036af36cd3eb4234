package inject

import (
	"net/netip"
	"sync"
	"time"

	"github.com/softips/softips/pkg/flowspec"
)

// Defaults of TrackerConfig.
const (
	DefaultExtraBudget  = 8
	DefaultQuietTime    = 2 * time.Second
	DefaultRetryEvery   = 250 * time.Millisecond
	DefaultProbeAfter   = 200 * time.Millisecond
	DefaultMaxFlows     = 16384
	DefaultTTLCacheSize = 4096
)

// TrackerConfig tunes a Tracker; zero fields take the defaults.
type TrackerConfig struct {
	// ExtraBudget is how many later triggers of a flow are answered after
	// the first pair; each answer sends at most two RSTs and never one the
	// flow already sent. Negative means none.
	ExtraBudget int

	// ProbeAfter is how long a pending flow stays quiet before each side
	// gets one bare ACK that makes a survivor show its numbers (see
	// probe.go); zero means DefaultProbeAfter, negative never.
	ProbeAfter time.Duration

	// RetryEvery is how often a flow past its budget (unconfirmed) is
	// still answered.
	RetryEvery time.Duration

	// QuietTime is how long a flow must send nothing after its last RST to
	// count as confirmed.
	QuietTime time.Duration

	// MaxFlows caps the flows followed at once; the least recently active
	// is evicted (and counted) to make room.
	MaxFlows int

	// TTLCacheSize is the number of addresses whose last TTL is kept.
	TTLCacheSize int

	// Protected lists prefixes never to reset: the sensor, its gateway,
	// the management network, the allowlist (F5).
	Protected []netip.Prefix

	// Build holds MACs, FixedTTL and DefaultTTL; DstTTL and IPID are set by
	// the Tracker for each trigger.
	Build BuildOptions

	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// EventKind says what happened to a flow.
type EventKind uint8

// The kinds of Event.
const (
	EventPending     EventKind = iota + 1 // first RSTs sent; outcome not known yet
	EventConfirmed                        // quiet for QuietTime after the last RST
	EventUnconfirmed                      // budget spent and the flow still talks
	EventRefused                          // a protected endpoint: nothing sent
	EventSendFailed                       // the send function returned an error
	EventEvicted                          // dropped unsettled to make room
	EventInvalid                          // the trigger could not be answered
)

var kindNames = [...]string{"", "pending", "confirmed", "unconfirmed", "refused",
	"send-failed", "evicted", "invalid"}

// String returns the lowercase name of k.
func (k EventKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Event reports a change in a flow's fate. The Tracker calls the events
// function with its lock held: it must return quickly and must not call
// back into the Tracker.
type Event struct {
	Kind    EventKind
	Flow    flowspec.Tuple // oriented as the flow's first trigger
	EntryID uint64         // block entry of the first trigger
	Frames  int            // RSTs sent for the flow so far
	Answers int            // later triggers answered
	Echoes  int            // RSTs seen back on the mirror
	Err     error          // EventSendFailed, EventInvalid
	Time    time.Time
}

// Stats is a snapshot of a Tracker's counters.
type Stats struct {
	FramesSent    uint64 // RSTs the send function accepted
	SendFailures  uint64 // RSTs the send function refused
	Refused       uint64 // triggers with a protected endpoint
	Confirmed     uint64
	Unconfirmed   uint64
	ExtraRSTs     uint64 // RSTs after the first pair of a flow
	Probes        uint64 // bare ACKs sent to quiet flows (probe.go)
	EchoesIgnored uint64 // triggers carrying RST
	OverBudget    uint64 // triggers of unconfirmed flows, not answered
	Evicted       uint64 // flows dropped unsettled for room
	Invalid       uint64 // triggers that could not be answered
	Pending       int    // flows awaiting confirmation now
	Flows         int    // flows followed now
}

// Tracker answers inject requests and follows each reset flow until it is
// confirmed or unconfirmed. Handle and Tick may be called from different
// goroutines; they serialize on the Tracker's lock.
type Tracker struct {
	cfg    TrackerConfig
	send   func(frames ...[]byte) error
	events func(Event)

	mu     sync.Mutex
	flows  *flowTable
	held   map[flowKey]*held // triggers of flows past budget awaiting a retry
	ttls   *ttlCache
	ipid   uint16
	plan   [2]segment
	frames [][]byte
	stats  Stats
}

// NewTracker returns a Tracker that sends RSTs with send and reports each
// flow's fate to events (nil: counters only).
func NewTracker(cfg TrackerConfig, send func(frames ...[]byte) error,
	events func(Event)) *Tracker {
	cfg = withDefaults(cfg)
	if events == nil {
		events = func(Event) {}
	}
	return &Tracker{cfg: cfg, send: send, events: events,
		flows: newFlowTable(cfg.MaxFlows), held: map[flowKey]*held{},
		ttls:   newTTLCache(cfg.TTLCacheSize),
		frames: make([][]byte, 0, 2)}
}

func withDefaults(c TrackerConfig) TrackerConfig {
	switch {
	case c.ExtraBudget == 0:
		c.ExtraBudget = DefaultExtraBudget
	case c.ExtraBudget < 0:
		c.ExtraBudget = 0
	}
	if c.QuietTime <= 0 {
		c.QuietTime = DefaultQuietTime
	}
	if c.RetryEvery <= 0 {
		c.RetryEvery = DefaultRetryEvery
	}
	if c.ProbeAfter == 0 {
		c.ProbeAfter = DefaultProbeAfter
	}
	if c.MaxFlows <= 0 {
		c.MaxFlows = DefaultMaxFlows
	}
	if c.TTLCacheSize <= 0 {
		c.TTLCacheSize = DefaultTTLCacheSize
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Protected = unmapPrefixes(c.Protected)
	return c
}

// unmapPrefixes turns IPv4-mapped IPv6 prefixes into IPv4 ones, so that a
// protected address matches whichever form a trigger carries.
func unmapPrefixes(ps []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ps))
	for _, p := range ps {
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out
}

// Stats returns a snapshot of the counters.
func (t *Tracker) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	s.Flows = t.flows.len()
	return s
}

// Protected reports whether a is inside a protected prefix.
func (t *Tracker) Protected(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t.cfg.Protected {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
