//go:build linux

package e2e

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/softips/softips/pkg/flowspec"
	"golang.org/x/sys/unix"
)

// reactor is the lab self-test's stand-in for softips: it reads mon0 and,
// for every mirrored segment of a blocked flow, sends the two RSTs of
// DESIGN.md §7 out of mgmt0. It proves that the scenarios, the lab and
// the harness can show a reset at all, so a failing daemon scenario points
// at the daemon. It is test code only, bounded in time and in frames sent.
type reactor struct {
	mu    sync.Mutex
	specs map[string]flowspec.Spec
	sent  int
	stop  chan struct{}
	done  chan struct{}
	err   error
}

const maxReactorFrames = 20000

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
	r := &reactor{specs: map[string]flowspec.Spec{}, stop: make(chan struct{}),
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
	l, err := flowspec.Parse(spec)
	if err != nil {
		return fmt.Errorf("reactor: %w", err)
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
	tuple := flowspec.Tuple{Src: s.Src.Addr(), Dst: s.Dst.Addr(), SrcPort: s.Src.Port(),
		DstPort: s.Dst.Port()}
	for _, l := range r.specs {
		if l.Matches(tuple) {
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

// TestLabReactorEndsIPv6Flow runs the IPv6 scenario against the reactor.
func TestLabReactorEndsIPv6Flow(t *testing.T) {
	srv := requireLab(t)
	scenarioIPv6(t, srv, startReactor(t))
}
