package inject

import (
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// rig is a Tracker on a hand-driven clock with its frames and events
// recorded.
type rig struct {
	tr      *Tracker
	now     time.Time
	frames  [][]byte
	events  []Event
	sendErr error
}

func newRig(t *testing.T, cfg TrackerConfig) *rig {
	t.Helper()
	r := &rig{now: time.Unix(1_700_000_000, 0)}
	cfg.Now = func() time.Time { return r.now }
	cfg.Build.SrcMAC, cfg.Build.DstMAC = mgmtSrc, mgmtDst
	send := func(frames ...[]byte) error {
		if r.sendErr != nil {
			return r.sendErr
		}
		for _, f := range frames {
			r.frames = append(r.frames, slices.Clone(f))
		}
		return nil
	}
	r.tr = NewTracker(cfg, send, func(e Event) { r.events = append(r.events, e) })
	return r
}

// handle feeds a fixture and returns the frames it caused.
func (r *rig) handle(t *testing.T, p pkt) [][]byte {
	t.Helper()
	return r.handleTrigger(triggerOf(t, p.serialize(t)))
}

func (r *rig) handleTrigger(tr Trigger) [][]byte {
	n := len(r.frames)
	r.tr.Handle(tr)
	return r.frames[n:]
}

func (r *rig) kinds() []EventKind {
	var ks []EventKind
	for _, e := range r.events {
		ks = append(ks, e.Kind)
	}
	return ks
}

func wantKinds(t *testing.T, r *rig, want ...EventKind) {
	t.Helper()
	if got := r.kinds(); !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

func wantStats(t *testing.T, got, want Stats) {
	t.Helper()
	if got != want {
		t.Errorf("stats\n got %+v\nwant %+v", got, want)
	}
}

// challengeACK is S->C ACK seq 5000 ack 1150: S took 50 more bytes from
// C before the first RST (seq 1100) arrived, and challenges it.
var challengeACK = pkt{src: addrS, dst: addrC, sport: 443, dport: 51000,
	seq: 5000, ack: 1150, flags: FlagACK, ttl: 63, srcMAC: macS, dstMAC: macC}

// TestF8NoEcho: one trigger gives exactly two frames; the two RSTs seen
// back on the mirror give nothing; the flow stays pending until quiet.
func TestF8NoEcho(t *testing.T) {
	r := newRig(t, TrackerConfig{QuietTime: time.Second})
	out := r.handle(t, fixPayload)
	if len(out) != 2 {
		t.Fatalf("%d frames for one trigger, want 2", len(out))
	}
	checkFrame(t, out[0], want{src: epC, dst: epS, seq: 1100, flags: FlagRST, ttl: 61})
	checkFrame(t, out[1], want{src: epS, dst: epC, seq: 5000, flags: FlagRST, ttl: 64, id: 1})
	for _, echo := range slices.Clone(out) {
		if more := r.handleTrigger(triggerOf(t, echo)); len(more) != 0 {
			t.Errorf("echo of our own RST caused %d frames", len(more))
		}
	}
	wantStats(t, r.tr.Stats(), Stats{FramesSent: 2, EchoesIgnored: 2, Pending: 1, Flows: 1})

	r.tr.Tick(r.now.Add(time.Second - 1))
	wantKinds(t, r, EventPending)
	r.tr.Tick(r.now.Add(time.Second))
	wantKinds(t, r, EventPending, EventConfirmed)
	if e := r.events[1]; e.Frames != 2 || e.Echoes != 2 || e.Flow.Src != addrC {
		t.Errorf("confirmed event %+v, want 2 frames, 2 echoes, flow from C", e)
	}
	wantStats(t, r.tr.Stats(), Stats{FramesSent: 2, EchoesIgnored: 2, Confirmed: 1})
}

// TestF7ChallengeACK: the first frames each way carry the exact numbers; a
// challenge ACK from S (ack A') is answered once, with RST seq A' to S.
func TestF7ChallengeACK(t *testing.T) {
	r := newRig(t, TrackerConfig{})
	first := r.handle(t, fixPayload)
	if len(first) != 2 {
		t.Fatalf("%d first frames, want 2", len(first))
	}
	checkFrame(t, first[0], want{src: epC, dst: epS, seq: 1100, flags: FlagRST, ttl: 61})
	checkFrame(t, first[1], want{src: epS, dst: epC, seq: 5000, flags: FlagRST, ttl: 64,
		id: 1})

	r.now = r.now.Add(time.Millisecond)
	out := r.handle(t, challengeACK)
	if len(out) != 1 {
		t.Fatalf("challenge ACK answered with %d frames, want 1", len(out))
	}
	checkFrame(t, out[0], want{src: epC, dst: epS, seq: 1150, flags: FlagRST, ttl: 61, id: 2})
	if again := r.handle(t, challengeACK); len(again) != 0 {
		t.Errorf("repeated challenge ACK answered with %d frames, want 0", len(again))
	}
	wantStats(t, r.tr.Stats(), Stats{FramesSent: 3, ExtraRSTs: 1, Pending: 1, Flows: 1})
}

// TestTrackerLateData: data from C sent before the reset landed is
// answered from its own, newer numbers.
func TestTrackerLateData(t *testing.T) {
	r := newRig(t, TrackerConfig{})
	r.handle(t, fixPayload)
	late := fixPayload
	late.seq, late.payload = 1100, 50
	out := r.handle(t, late)
	if len(out) != 1 {
		t.Fatalf("late data answered with %d frames, want 1 (RST to C sent before)",
			len(out))
	}
	checkFrame(t, out[0], want{src: epC, dst: epS, seq: 1150, flags: FlagRST, ttl: 61, id: 2})
}

// TestTrackerBudget: a flow still talking once its budget is spent is
// unconfirmed, once, and gets no more RSTs; it is then forgotten when quiet.
func TestTrackerBudget(t *testing.T) {
	r := newRig(t, TrackerConfig{ExtraBudget: 2, QuietTime: time.Second})
	r.handle(t, fixPayload)
	p := fixPayload
	for i := range 4 {
		p.seq += 100
		r.now = r.now.Add(100 * time.Millisecond)
		n := len(r.handle(t, p))
		if wantN := []int{1, 1, 0, 0}[i]; n != wantN {
			t.Errorf("later trigger %d: %d frames, want %d", i, n, wantN)
		}
	}
	wantKinds(t, r, EventPending, EventUnconfirmed)
	wantStats(t, r.tr.Stats(), Stats{FramesSent: 4, ExtraRSTs: 2, Unconfirmed: 1,
		OverBudget: 1, Flows: 1})
	r.tr.Tick(r.now.Add(time.Second))
	wantKinds(t, r, EventPending, EventUnconfirmed)
	if s := r.tr.Stats(); s.Flows != 0 || s.Confirmed != 0 {
		t.Errorf("after quiet: %+v, want the flow forgotten, not confirmed", s)
	}
}

// TestTrackerRetriesPastBudget: a flow that outlives its budget is still
// answered, once per RetryEvery, with its newest numbers.
func TestTrackerRetriesPastBudget(t *testing.T) {
	r := newRig(t, TrackerConfig{ExtraBudget: 1, QuietTime: 10 * time.Second,
		RetryEvery: time.Second})
	r.handle(t, fixPayload)
	p := fixPayload
	for i, want := range []int{1, 0, 0, 1, 0} {
		p.seq += 100
		r.now = r.now.Add(400 * time.Millisecond)
		if n := len(r.handle(t, p)); n != want {
			t.Errorf("trigger %d at +%v: %d frames, want %d", i, time.Duration(i+1)*400*
				time.Millisecond, n, want)
		}
	}
	wantKinds(t, r, EventPending, EventUnconfirmed)
}

func TestTrackerNoExtraBudget(t *testing.T) {
	r := newRig(t, TrackerConfig{ExtraBudget: -1})
	r.handle(t, fixPayload)
	if out := r.handle(t, challengeACK); len(out) != 0 {
		t.Errorf("budget -1 answered a later trigger with %d frames", len(out))
	}
	wantKinds(t, r, EventPending, EventUnconfirmed)
}

// TestF5Protected: no RST ever goes to a flow with a protected endpoint,
// whichever side it is on and whichever address form the trigger uses.
func TestF5Protected(t *testing.T) {
	prot := []netip.Prefix{netip.MustParsePrefix("198.51.100.2/32"),
		netip.MustParsePrefix("198.51.100.1/32"),
		netip.MustParsePrefix("203.0.113.224/28"),
		netip.MustParsePrefix("::ffff:198.51.100.128/121"), // 198.51.100.128/25
		netip.MustParsePrefix("2001:db8:ffff::/48")}
	a := netip.MustParseAddr
	tests := []struct {
		name     string
		src, dst netip.Addr
		refused  bool
	}{
		{"gateway as source", a("198.51.100.1"), addrC, true},
		{"sensor as destination", addrC, a("198.51.100.2"), true},
		{"admin net", a("203.0.113.230"), addrS, true},
		{"mapped sensor", a("::ffff:198.51.100.2"), a("::ffff:203.0.113.10"), true},
		{"mapped prefix", a("198.51.100.200"), addrC, true},
		{"ipv6 allowlist", addrC6, a("2001:db8:ffff::1"), true},
		{"ordinary host", a("198.51.100.77"), addrC, false},
		{"next to admin net", a("203.0.113.223"), addrS, false},
	}
	for _, tc := range tests {
		r := newRig(t, TrackerConfig{Protected: prot})
		tr := Trigger{Src: tc.src, Dst: tc.dst, SrcPort: 1, DstPort: 2, Flags: FlagACK}
		out := r.handleTrigger(tr)
		s := r.tr.Stats()
		refused := len(out) == 0 && s.Refused == 1 && r.kinds()[0] == EventRefused
		answered := len(out) == 2 && s.Refused == 0
		if tc.refused && !refused || !tc.refused && !answered {
			t.Errorf("%s: %d frames, %d refused; want refused %v", tc.name, len(out),
				s.Refused, tc.refused)
		}
	}
}

// TestTrackerTTL: the RST impersonating D carries the TTL last observed
// from D, or the default; FixedTTL overrides both.
func TestTrackerTTL(t *testing.T) {
	fromS := fixSYNACK // S seen with TTL 63 on another flow
	fromS.dport = 40000
	r := newRig(t, TrackerConfig{Build: BuildOptions{DefaultTTL: 100}})
	r.handle(t, fixFIN) // S unseen: default
	r.handle(t, fromS)
	p := fixPayload
	p.sport = 51001
	out := r.handle(t, p)
	ttls := []uint8{r.frames[0][22], r.frames[1][22], out[0][22], out[1][22]}
	if !slices.Equal(ttls, []uint8{61, 100, 61, 63}) {
		t.Errorf("TTLs %v, want [61 100 61 63]", ttls)
	}

	r = newRig(t, TrackerConfig{Build: BuildOptions{FixedTTL: 200}})
	out = r.handle(t, fixPayload)
	if out[0][22] != 200 || out[1][22] != 200 {
		t.Errorf("fixed TTL: %d %d, want 200 200", out[0][22], out[1][22])
	}
}

// TestTrackerSendFailure: a failed send is counted and reported, and the
// next trigger of the flow tries the first pair again (F9).
func TestTrackerSendFailure(t *testing.T) {
	r := newRig(t, TrackerConfig{})
	boom := errors.New("boom")
	r.sendErr = boom
	r.handle(t, fixPayload)
	wantStats(t, r.tr.Stats(), Stats{SendFailures: 2})
	if len(r.events) != 1 || !errors.Is(r.events[0].Err, boom) {
		t.Fatalf("events %+v, want one send-failed carrying the error", r.events)
	}
	r.sendErr = nil
	if out := r.handle(t, fixPayload); len(out) != 2 {
		t.Errorf("retry sent %d frames, want the first pair again", len(out))
	}
	wantKinds(t, r, EventSendFailed, EventPending)
}

// TestTrackerEviction: a full table settles its oldest flow if quiet and
// evicts it, counted, if not.
func TestTrackerEviction(t *testing.T) {
	r := newRig(t, TrackerConfig{MaxFlows: 2, QuietTime: time.Second})
	flows := []uint16{1, 2, 3, 4}
	for i, port := range flows {
		p := fixPayload
		p.sport = port
		if i == 3 {
			r.now = r.now.Add(time.Second) // flow 2 is quiet by now
		}
		r.handle(t, p)
	}
	wantKinds(t, r, EventPending, EventPending, EventEvicted, EventPending,
		EventConfirmed, EventPending)
	if e := r.events[2]; e.Flow.SrcPort != 1 {
		t.Errorf("evicted flow %v, want source port 1", e.Flow)
	}
	s := r.tr.Stats()
	if s.Evicted != 1 || s.Confirmed != 1 || s.Pending != 2 || s.Flows != 2 {
		t.Errorf("stats %+v, want 1 evicted, 1 confirmed, 2 pending", s)
	}
}

func TestTrackerInvalid(t *testing.T) {
	r := newRig(t, TrackerConfig{})
	r.handleTrigger(Trigger{Src: addrC, Dst: addrS6, Flags: FlagACK})
	if s := r.tr.Stats(); s.Invalid != 1 || len(r.frames) != 0 {
		t.Errorf("stats %+v, frames %d; want 1 invalid, none sent", s, len(r.frames))
	}
	if !errors.Is(r.events[0].Err, ErrBadTrigger) {
		t.Errorf("event error %v, want ErrBadTrigger", r.events[0].Err)
	}
}

func TestTTLCacheBounded(t *testing.T) {
	c := newTTLCache(4)
	c.put(addrC, 0)
	if c.get(addrC) != 0 {
		t.Error("a zero TTL was recorded")
	}
	for i := range 100 {
		c.put(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), uint8(i+1))
	}
	if len(c.slots) != 4 {
		t.Errorf("cache grew to %d slots", len(c.slots))
	}
	if got := c.get(netip.MustParseAddr("10.0.0.99")); got != 100 {
		t.Errorf("latest address: TTL %d, want 100", got)
	}
}

// TestF8HeldFinalTrigger: a trigger refused for want of budget is not
// lost. In a bulk transfer every RST built from an early segment arrives
// behind the receiver's window and is dropped; only the flow's last ACK
// carries numbers that still reset it, and that ACK comes in the burst
// past the budget. It is held, the newest of its direction, and answered
// when the flow's retry is due, once.
func TestF8HeldFinalTrigger(t *testing.T) {
	r := newRig(t, TrackerConfig{ExtraBudget: 1, QuietTime: 10 * time.Second,
		RetryEvery: time.Second})
	r.handle(t, fixPayload)
	p := fixPayload
	p.seq = 1100
	if out := r.handle(t, p); len(out) != 1 {
		t.Fatalf("in-budget trigger: %d frames, want 1", len(out))
	}
	t0 := r.now
	final := pkt{src: addrC, dst: addrS, sport: 51000, dport: 443, seq: 1300,
		ack: 9000, flags: FlagACK, ttl: 61, srcMAC: macC, dstMAC: macS}
	for i, q := range []pkt{{}, final} {
		if i == 0 {
			q = p
			q.seq = 1200
		}
		r.now = r.now.Add(10 * time.Millisecond)
		if out := r.handle(t, q); len(out) != 0 {
			t.Fatalf("trigger %d past budget: %d frames at once, want 0", i, len(out))
		}
	}
	r.tr.Tick(t0.Add(time.Second - 1))
	if len(r.frames) != 3 {
		t.Fatalf("%d frames before the retry is due, want 3", len(r.frames))
	}
	r.tr.Tick(t0.Add(time.Second))
	out := r.frames[3:]
	if len(out) != 2 {
		t.Fatalf("retry of the held trigger sent %d frames, want 2", len(out))
	}
	checkFrame(t, out[0], want{src: epC, dst: epS, seq: 1300, flags: FlagRST, ttl: 61, id: 3})
	checkFrame(t, out[1], want{src: epS, dst: epC, seq: 9000, flags: FlagRST, ttl: 64, id: 4})
	r.tr.Tick(t0.Add(3 * time.Second))
	if len(r.frames) != 5 {
		t.Errorf("a held trigger was answered twice: %d frames, want 5", len(r.frames))
	}
	wantStats(t, r.tr.Stats(), Stats{FramesSent: 5, ExtraRSTs: 3, Unconfirmed: 1,
		OverBudget: 1, Flows: 1})
}

// TestProbeLateFlow: a flow reset from a late trigger (a detection verdict)
// and quiet since gets one bare ACK to each side, carrying the numbers of
// the RST sent to that side, so a survivor answers with its own; a flow
// reset from a fresh kernel tag is never probed (F8: exactly two frames).
func TestProbeLateFlow(t *testing.T) {
	for _, late := range []bool{false, true} {
		r := newRig(t, TrackerConfig{QuietTime: 2 * time.Second})
		tr := triggerOf(t, fixPayload.serialize(t))
		tr.Late = late
		r.handleTrigger(tr)
		n := len(r.frames)
		r.now = r.now.Add(100 * time.Millisecond)
		r.tr.Tick(r.now)
		if len(r.frames) != n {
			t.Fatalf("late=%v: probed after 100 ms", late)
		}
		r.now = r.now.Add(150 * time.Millisecond)
		r.tr.Tick(r.now)
		r.tr.Tick(r.now.Add(50 * time.Millisecond))
		probes := r.frames[n:]
		if !late {
			if len(probes) != 0 {
				t.Errorf("fresh trigger: %d probes, want none", len(probes))
			}
			continue
		}
		want := map[string]uint32{"198.51.100.20:443": 1100, "203.0.113.10:51000": 5000}
		if len(probes) != 2 {
			t.Fatalf("late trigger: %d probes, want one to each side", len(probes))
		}
		for _, f := range probes {
			p := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
			tcp := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
			dst := p.NetworkLayer().NetworkFlow().Dst().String() + ":" +
				strconv.Itoa(int(tcp.DstPort))
			if !tcp.ACK || tcp.RST || tcp.SYN || tcp.FIN || tcp.Seq != want[dst] {
				t.Errorf("probe to %s: flags ACK=%v RST=%v seq %d, want a bare ACK seq %d",
					dst, tcp.ACK, tcp.RST, tcp.Seq, want[dst])
			}
		}
		if s := r.tr.Stats(); s.Probes != 2 || s.FramesSent != 2 {
			t.Errorf("stats %+v, want 2 probes beside the 2 RSTs", s)
		}
	}
}
