package inject

import (
	"bytes"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/softips/softips/internal/testenv"
	"github.com/vishvananda/netlink"
)

// senderLab is a lab with a Sender on the sensor's inj0 and a capture on
// the peer's inj1.
type senderLab struct {
	*lab
	s   *Sender
	cap *capture
}

func newSenderLab(t *testing.T, o SenderOptions) *senderLab {
	t.Helper()
	testenv.RequireRoot(t)
	l := &senderLab{lab: newLab(t)}
	var err error
	l.in(t, l.sensor, func() { l.s, err = NewSender("inj0", o) })
	if err != nil {
		t.Fatalf("NewSender: %v", err)
	}
	t.Cleanup(func() { l.s.Close() })
	l.cap = l.capture(t)
	return l
}

// onWire is frame as it must appear on the peer: the same bytes, from the
// sensor's MAC to the peer's (the next hop, whichever IP it is).
func (l *senderLab) onWire(frame []byte) []byte {
	w := slices.Clone(frame)
	copy(w[0:6], l.cap.mac[:])
	copy(w[6:12], l.s.mac[:])
	return w
}

// expectFrames asserts that exactly the frames sent arrived, in order and
// byte for byte, and decodes each to check every field.
func (l *senderLab) expectFrames(t *testing.T, sent [][]byte, wants []want) received {
	t.Helper()
	got := l.cap.read(t, len(sent), 2*time.Second)
	if len(got.tcp) != len(sent) {
		t.Fatalf("peer received %d TCP frames, want %d", len(got.tcp), len(sent))
	}
	for i := range sent {
		if w := l.onWire(sent[i]); !bytes.Equal(got.tcp[i], w) {
			t.Errorf("frame %d on the wire\n% x\nwant\n% x", i, got.tcp[i], w)
		}
		if i < len(wants) {
			wants[i].ethSrc, wants[i].ethDst = l.s.mac, l.cap.mac
			checkFrame(t, got.tcp[i], wants[i])
		}
	}
	return got
}

func (l *senderLab) neighbours(t *testing.T) []netlink.Neigh {
	t.Helper()
	var ns []netlink.Neigh
	var err error
	l.in(t, l.sensor, func() {
		ns, err = netlink.NeighList(l.s.res.ifindex, netlink.FAMILY_ALL)
	})
	if err != nil {
		t.Fatalf("list neighbours: %v", err)
	}
	return ns
}

func usable(ns []netlink.Neigh, ip string) bool {
	for _, n := range ns {
		if n.IP.String() == ip && n.State&usableNUD != 0 {
			return true
		}
	}
	return false
}

// TestSenderResetsOnTheWire sends the F7 pair and an IPv6 pair through the
// TX ring, starting from an empty neighbour table, and reads them on the
// other end of the link (F9: frames, not logs).
func TestSenderResetsOnTheWire(t *testing.T) {
	l := newSenderLab(t, SenderOptions{})
	hops := []string{"198.51.100.1", "198.51.100.20", "2001:db8:1::1", "2001:db8:1::20"}
	for _, ip := range hops {
		if usable(l.neighbours(t), ip) {
			t.Fatalf("neighbour %s known before the test", ip)
		}
	}
	v4 := build(t, fixPayload, BuildOptions{})
	if err := l.s.Send(v4...); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := l.expectFrames(t, v4, []want{
		{src: epC, dst: epS, seq: 1100, flags: FlagRST, ttl: 61},
		{src: epS, dst: epC, seq: 5000, flags: FlagRST, ttl: 64, id: 1},
	})
	// 198.51.100.20 is on-link, 203.0.113.10 is behind the gateway.
	for _, ip := range []string{"198.51.100.20", "198.51.100.1"} {
		if !slices.Contains(got.arpFor, ip) || !usable(l.neighbours(t), ip) {
			t.Errorf("next hop %s: ARP requests %v, not resolved", ip, got.arpFor)
		}
	}

	c6 := netip.MustParseAddrPort("[2001:db8:5::10]:51000")
	s6 := netip.MustParseAddrPort("[2001:db8:1::20]:443")
	tr := Trigger{Src: c6.Addr(), Dst: s6.Addr(), SrcPort: 51000, DstPort: 443, Seq: 1000,
		Ack: 5000, Flags: FlagACK | FlagPSH, PayloadLen: 100, TTL: 59}
	v6, err := BuildResets(tr, BuildOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.s.Send(v6...); err != nil {
		t.Fatalf("Send IPv6: %v", err)
	}
	got = l.expectFrames(t, v6, []want{
		{src: c6, dst: s6, seq: 1100, flags: FlagRST, ttl: 59},
		{src: s6, dst: c6, seq: 5000, flags: FlagRST, ttl: 64},
	})
	for _, ip := range []string{"2001:db8:1::20", "2001:db8:1::1"} {
		if !slices.Contains(got.solicited, ip) {
			t.Errorf("no neighbour solicitation for %s: %v", ip, got.solicited)
		}
	}
	if st := l.s.Stats(); st != (SenderStats{Sent: 4}) {
		t.Errorf("stats %+v, want 4 sent", st)
	}
}

// TestSenderRefusals: no MAC, a route through another interface and a
// malformed frame are errors with the reason, counted, and put nothing on
// the wire; a failed resolution is remembered, not waited for again.
func TestSenderRefusals(t *testing.T) {
	l := newSenderLab(t, SenderOptions{ResolveTimeout: 300 * time.Millisecond})
	frame := func(dst string) []byte {
		tr := Trigger{Src: addrC, Dst: netip.MustParseAddr(dst), SrcPort: 1, DstPort: 2}
		f, err := BuildResets(tr, BuildOptions{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return f[0]
	}
	tests := []struct {
		name  string
		frame []byte
		want  error
	}{
		{"nobody answers", frame("198.51.100.99"), ErrNoNeighbour},
		{"nobody answers, remembered", frame("198.51.100.99"), ErrNoNeighbour},
		{"route via oth0", frame("203.0.113.200"), ErrWrongInterface},
		{"not IP", make([]byte, 60), ErrBadFrame},
		{"too long", make([]byte, 300), ErrBadFrame},
	}
	for _, tc := range tests {
		start := time.Now()
		err := l.s.Send(tc.frame)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
		took := time.Since(start)
		if tc.name == "nobody answers, remembered" && took > 100*time.Millisecond {
			t.Errorf("%s: waited %v for a known failure", tc.name, took)
		}
	}
	if got := l.cap.read(t, 1, 200*time.Millisecond); len(got.tcp) != 0 {
		t.Errorf("%d TCP frames reached the peer", len(got.tcp))
	}
	if st := l.s.Stats(); st != (SenderStats{Failed: 5, Unresolved: 3}) {
		t.Errorf("stats %+v, want 5 failed, 3 unresolved", st)
	}
}

// TestSenderWrongFormat: a slot the kernel marks TP_STATUS_WRONG_FORMAT is
// reported and freed, the frames after it still go, and the ring stays in
// step with the kernel for the next sends.
func TestSenderWrongFormat(t *testing.T) {
	l := newSenderLab(t, SenderOptions{})
	pair := build(t, fixPayload, BuildOptions{})
	calls := 0
	l.s.prepare = func(d, f []byte) (int, error) {
		calls++
		if calls == 1 {
			return 6, nil // shorter than an Ethernet header
		}
		return copyFrame(d, f)
	}
	err := l.s.Send(pair...)
	if !errors.Is(err, ErrWrongFormat) {
		t.Fatalf("Send: %v, want ErrWrongFormat", err)
	}
	l.expectFrames(t, pair[1:], nil)
	l.s.prepare = copyFrame
	for range 3 {
		if err := l.s.Send(pair...); err != nil {
			t.Fatalf("Send after wrong format: %v", err)
		}
		l.expectFrames(t, pair, nil)
	}
	if st := l.s.Stats(); st != (SenderStats{Sent: 7, Failed: 1, WrongFormat: 1}) {
		t.Errorf("stats %+v, want 7 sent, 1 failed, 1 wrong format", st)
	}
}

// TestSenderRingWraps sends more frames than the ring has slots, in one
// call and in many, and every one arrives in order.
func TestSenderRingWraps(t *testing.T) {
	l := newSenderLab(t, SenderOptions{Frames: 16})
	var frames [][]byte
	for i := range 40 {
		tr := triggerOf(t, fixPayload.serialize(t))
		tr.Seq += uint32(i)
		f, _ := BuildResets(tr, BuildOptions{IPID: uint16(i)}, nil)
		frames = append(frames, f...)
	}
	if err := l.s.Send(frames[:50]...); err != nil {
		t.Fatalf("Send 50: %v", err)
	}
	l.expectFrames(t, frames[:50], nil)
	for i := 50; i < len(frames); i += 3 {
		if err := l.s.Send(frames[i:min(i+3, len(frames))]...); err != nil {
			t.Fatalf("Send at %d: %v", i, err)
		}
	}
	l.expectFrames(t, frames[50:], nil)
	if st := l.s.Stats(); st.Sent != 80 || st.Failed != 0 {
		t.Errorf("stats %+v, want 80 sent", st)
	}
}

// TestF9TrackerOnTheWire: a trigger handed to a Tracker wired to a Sender
// puts two RSTs on the management link, and both counters move by two.
func TestF9TrackerOnTheWire(t *testing.T) {
	l := newSenderLab(t, SenderOptions{})
	var events []Event
	tk := NewTracker(TrackerConfig{}, l.s.Send, func(e Event) { events = append(events, e) })
	tk.Handle(triggerOf(t, fixPayload.serialize(t)))
	want := build(t, fixPayload, BuildOptions{})
	l.expectFrames(t, want, nil)
	if tk.Stats().FramesSent != 2 || l.s.Stats().Sent != 2 {
		t.Errorf("tracker %+v, sender %+v; want 2 sent by both", tk.Stats(), l.s.Stats())
	}
	if len(events) != 1 || events[0].Kind != EventPending {
		t.Errorf("events %+v, want one pending", events)
	}
}

// TestSenderRingFull: when the next slot is still busy, Send says so with
// ErrRingFull, counts the frames and sends nothing; once the slot is free
// the ring goes on. Also covers Resolve and Close.
func TestSenderRingFull(t *testing.T) {
	l := newSenderLab(t, SenderOptions{Frames: 16})
	mac, err := l.s.Resolve(addrC)
	if err != nil || mac != l.cap.mac {
		t.Fatalf("Resolve(%s) = %x, %v; want the peer's %x", addrC, mac, err, l.cap.mac)
	}
	pair := build(t, fixPayload, BuildOptions{})
	busy := l.s.head
	l.s.setStatus(busy, 2) // TP_STATUS_SENDING: the kernel still holds it
	if err := l.s.Send(pair...); !errors.Is(err, ErrRingFull) {
		t.Fatalf("Send into a busy slot: %v, want ErrRingFull", err)
	}
	l.s.setStatus(busy, 0)
	if err := l.s.Send(pair...); err != nil {
		t.Fatalf("Send after the slot came free: %v", err)
	}
	l.expectFrames(t, pair, nil)
	if st := l.s.Stats(); st != (SenderStats{Sent: 2, Failed: 2, RingFull: 2}) {
		t.Errorf("stats %+v, want 2 sent, 2 failed for a full ring", st)
	}
	l.s.Close()
	if err := l.s.Send(pair...); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close: %v, want ErrClosed", err)
	}
}
