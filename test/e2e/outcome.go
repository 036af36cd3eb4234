//go:build linux

package e2e

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"
)

// EndKind says how a connection ended, as its application saw it.
type EndKind int

// How a connection ended.
const (
	EndNone    EndKind = iota // still running
	EndReset                  // ECONNRESET: "connection reset by peer"
	EndRefused                // ECONNREFUSED: a RST answered the SYN
	EndEOF                    // the peer closed in order (FIN)
	EndPipe                   // EPIPE: written after the reset was reported
	EndTimeout                // a deadline passed with nothing heard
	EndStopped                // the harness closed it
	EndOther                  // any other error
)

var endNames = [...]string{"running", "reset", "refused", "eof", "broken-pipe",
	"timeout", "stopped", "other"}

// String names the kind.
func (k EndKind) String() string {
	if k < 0 || int(k) >= len(endNames) {
		return fmt.Sprintf("EndKind(%d)", int(k))
	}
	return endNames[k]
}

// Classify maps an I/O error to the way it ended a connection.
func Classify(err error) EndKind {
	var nerr net.Error
	switch {
	case err == nil:
		return EndNone
	case errors.Is(err, syscall.ECONNRESET):
		return EndReset
	case errors.Is(err, syscall.ECONNREFUSED):
		return EndRefused
	case errors.Is(err, io.EOF):
		return EndEOF
	case errors.Is(err, syscall.EPIPE):
		return EndPipe
	case errors.Is(err, net.ErrClosed):
		return EndStopped
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &nerr) && nerr.Timeout():
		return EndTimeout
	}
	return EndOther
}

// Outcome is what one endpoint of one connection has seen so far.
type Outcome struct {
	Label    string
	Local    netip.AddrPort
	Remote   netip.AddrPort
	Start    time.Time
	Sent     int64 // bytes written
	Received int64 // bytes read
	End      EndKind
	EndAt    time.Time // zero while running
	Err      error     // the error that ended it, if any
}

// String is a one-line summary for test logs.
func (o Outcome) String() string {
	s := fmt.Sprintf("%s %v->%v sent=%d recv=%d %v", o.Label, o.Local, o.Remote,
		o.Sent, o.Received, o.End)
	if o.Err != nil {
		s += fmt.Sprintf(" (%v)", o.Err)
	}
	return s
}

// Endpoint tracks one side of one connection while its application runs.
type Endpoint struct {
	mu   sync.Mutex
	o    Outcome
	done chan struct{}
}

func newEndpoint(label string, c net.Conn) *Endpoint {
	o := Outcome{Label: label, Start: time.Now()}
	if c != nil {
		o.Local = addrPort(c.LocalAddr())
		o.Remote = addrPort(c.RemoteAddr())
	}
	return &Endpoint{o: o, done: make(chan struct{})}
}

func addrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort()
	}
	return netip.AddrPort{}
}

func (e *Endpoint) sent(n int) {
	e.mu.Lock()
	e.o.Sent += int64(n)
	e.mu.Unlock()
}

func (e *Endpoint) received(n int) {
	e.mu.Lock()
	e.o.Received += int64(n)
	e.mu.Unlock()
}

// finish records the end once; later calls change nothing.
func (e *Endpoint) finish(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.o.EndAt.IsZero() {
		return
	}
	e.o.EndAt = time.Now()
	e.o.Err = err
	e.o.End = Classify(err)
	if err == nil {
		e.o.End = EndStopped
	}
	close(e.done)
}

// Snapshot returns the outcome so far.
func (e *Endpoint) Snapshot() Outcome {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.o
}

// Done is closed when the connection has ended.
func (e *Endpoint) Done() <-chan struct{} { return e.done }

// Wait waits at most d for the end and returns the outcome either way.
func (e *Endpoint) Wait(d time.Duration) (Outcome, bool) {
	select {
	case <-e.done:
		return e.Snapshot(), true
	default:
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-e.done:
		return e.Snapshot(), true
	case <-t.C:
		return e.Snapshot(), false
	}
}
