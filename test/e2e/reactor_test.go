//go:build linux

package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// reactor is the lab self-test's stand-in for softips: it reads mon0 and,
// for every mirrored segment of a blocked flow, sends the two RSTs of
// DESIGN.md §7 out of mgmt0. It proves that the scenarios, the lab and
// the harness can show a reset at all, so a failing daemon scenario points
// at the daemon. It is test code only, bounded in time and in frames sent.
type reactor struct {
	mu    sync.Mutex
	specs map[string]labSpec
	sent  int
	stop  chan struct{}
	done  chan struct{}
	err   error
}

const maxReactorFrames = 20000

// labSpec is the subset of the flow-spec text the scenarios use.
type labSpec struct {
	src, dst         netip.Prefix
	srcPort, dstPort uint16
}

func parseLabSpec(s string) (labSpec, error) {
	f := strings.Fields(s)
	if len(f) != 4 {
		return labSpec{}, fmt.Errorf("spec %q: want 4 fields, got %d", s, len(f))
	}
	src, err1 := netip.ParsePrefix(f[0])
	sp, err2 := strconv.ParseUint(f[1], 10, 16)
	dst, err3 := netip.ParsePrefix(f[2])
	dp, err4 := strconv.ParseUint(f[3], 10, 16)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return labSpec{}, fmt.Errorf("spec %q: %w", s, err)
	}
	return labSpec{src, dst, uint16(sp), uint16(dp)}, nil
}

func (l labSpec) oneWay(a, b netip.AddrPort) bool {
	portOK := func(want, got uint16) bool { return want == 0 || want == got }
	return l.src.Contains(a.Addr()) && l.dst.Contains(b.Addr()) &&
		portOK(l.srcPort, a.Port()) && portOK(l.dstPort, b.Port())
}

func (l labSpec) matches(s Segment) bool { return l.oneWay(s.Src, s.Dst) || l.oneWay(s.Dst, s.Src) }

func startReactor(t *testing.T) *reactor {
	t.Helper()
	fd, err := packetSocket(NSSensor, MonitorIface)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := OpenSender(NSSensor, InjectIface)
	if err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	r := &reactor{specs: map[string]labSpec{}, stop: make(chan struct{}),
		done: make(chan struct{})}
	go r.loop(fd, tx, time.Now().Add(scenarioBudget))
	t.Cleanup(func() {
		close(r.stop)
		<-r.done
		if r.err != nil {
			t.Error(r.err)
		}
		t.Logf("reactor sent %d RST frames", r.sent)
	})
	return r
}

func (r *reactor) Block(_ context.Context, spec string) error {
	l, err := parseLabSpec(spec)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.specs[spec] = l
	r.mu.Unlock()
	return nil
}

func (r *reactor) Unblock(_ context.Context, spec string) error {
	r.mu.Lock()
	delete(r.specs, spec)
	r.mu.Unlock()
	return nil
}

func (r *reactor) blocked(s Segment) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.specs {
		if l.matches(s) {
			return true
		}
	}
	return false
}

func (r *reactor) loop(fd int, tx *Sender, deadline time.Time) {
	defer close(r.done)
	defer unix.Close(fd)
	defer tx.Close()
	buf := make([]byte, captureSnap)
	for r.sent < maxReactorFrames && time.Now().Before(deadline) {
		select {
		case <-r.stop:
			return
		default:
		}
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			r.err = fmt.Errorf("reactor: recvfrom: %w", err)
			return
		}
		seg, ok := ParseSegment(buf[:n])
		if !ok || seg.Has(FlagRST) || !r.blocked(seg) {
			continue // our own RSTs come back on the mirror: never answer them
		}
		for _, f := range rstFor(seg) {
			if err := tx.Send(f); err != nil {
				r.err = fmt.Errorf("reactor: %w", err)
				return
			}
			r.sent++
		}
	}
}

// rstFor returns the two RSTs for mirrored segment p (DESIGN.md §7, F7,
// F10): to p's receiver, spoofed from its sender, seq = seq + length
// (SYN and FIN count one), acking a SYN it answers; to p's sender, seq =
// p's ack, or RST|ACK acking a bare SYN.
func rstFor(p Segment) [][]byte {
	src, dst := mustMAC(MACSensorMgmt), mustMAC(MACRouterMgmt)
	next := p.Seq + uint32(p.Payload)
	if p.Has(FlagSYN) {
		next++
	}
	if p.Has(FlagFIN) {
		next++
	}
	toDst := BuildRST(src, dst, p.Src, p.Dst, next, 0, FlagRST)
	if p.Has(FlagSYN | FlagACK) {
		toDst = BuildRST(src, dst, p.Src, p.Dst, next, p.Ack, FlagRST|FlagACK)
	}
	toSrc := BuildRST(src, dst, p.Dst, p.Src, 0, next, FlagRST|FlagACK)
	if p.Has(FlagACK) {
		toSrc = BuildRST(src, dst, p.Dst, p.Src, p.Ack, 0, FlagRST)
	}
	return [][]byte{toDst, toSrc}
}

// TestLabReactorEndsEstablishedFlows runs the established-flows scenario
// against the reactor: the harness's own proof that the lab can show it.
func TestLabReactorEndsEstablishedFlows(t *testing.T) {
	srv := requireLab(t)
	scenarioEstablished(t, srv, startReactor(t))
}

// TestLabReactorRefusesNewConnections runs the new-connection scenario
// against the reactor.
func TestLabReactorRefusesNewConnections(t *testing.T) {
	requireLab(t)
	scenarioNewConnections(t, startReactor(t))
}
