//go:build linux

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"
)

// Client bounds.
const (
	probeMsg     = "softips-e2e-ping"
	maxMessages  = 2000 // interactive writes per connection
	replyTimeout = 2 * time.Second
)

// Interactive dials remote from local inside ns and keeps an echo
// conversation: a small write every interval, while a reader collects the
// echoes at once, so a reset is seen the moment it arrives. It runs until
// ctx ends, the connection fails, maxMessages or MaxConnLife.
func Interactive(ctx context.Context, ns, local, remote string,
	interval time.Duration) (*Endpoint, error) {
	c, err := Dial(ctx, ns, local, remote)
	if err != nil {
		return nil, fmt.Errorf("interactive: %w", err)
	}
	ep := newEndpoint("client-interactive", c)
	_ = c.SetDeadline(time.Now().Add(MaxConnLife))
	stop := context.AfterFunc(ctx, func() { ep.finish(nil); _ = c.Close() })

	go readAll(c, ep, nil)
	go func() {
		defer stop()
		defer c.Close()
		ep.finish(writeEvery(ctx, c, ep, interval))
	}()
	return ep, nil
}

func writeEvery(ctx context.Context, c net.Conn, ep *Endpoint, interval time.Duration) error {
	msg := append([]byte{ModeEcho}, probeMsg...)
	t := time.NewTicker(interval)
	defer t.Stop()
	for range maxMessages {
		n, err := c.Write(msg)
		ep.sent(n)
		if err != nil {
			return err
		}
		msg = []byte(probeMsg) // the mode byte goes only once
		select {
		case <-ctx.Done():
			return nil
		case <-ep.Done():
			return nil
		case <-t.C:
		}
	}
	return nil
}

// readAll reads until an error and records it as the end. With first
// non-nil, it is closed when the first byte arrives.
func readAll(c net.Conn, ep *Endpoint, first chan<- struct{}) {
	buf := make([]byte, 64<<10)
	for range maxReads {
		n, err := c.Read(buf)
		ep.received(n)
		if n > 0 && first != nil {
			close(first)
			first = nil
		}
		if err != nil {
			ep.finish(err)
			return
		}
	}
	ep.finish(nil)
}

// Bulk dials remote from local inside ns, asks for a bulk stream and reads
// it until ctx ends, the connection fails or MaxConnLife.
func Bulk(ctx context.Context, ns, local, remote string) (*Endpoint, error) {
	c, err := Dial(ctx, ns, local, remote)
	if err != nil {
		return nil, fmt.Errorf("bulk: %w", err)
	}
	ep := newEndpoint("client-bulk", c)
	_ = c.SetDeadline(time.Now().Add(MaxConnLife))
	n, err := c.Write([]byte{ModeBulk})
	ep.sent(n)
	if err != nil {
		_ = c.Close()
		ep.finish(err)
		return ep, nil
	}
	stop := context.AfterFunc(ctx, func() { ep.finish(nil); _ = c.Close() })
	go func() {
		defer stop()
		defer c.Close()
		readAll(c, ep, nil)
	}()
	return ep, nil
}

// Probe makes one new echo connection from local to remote inside ns and
// waits at most wait for the whole echo. The outcome has Received equal to
// the probe length when the connection worked; otherwise End says how it
// failed (refused, reset, EOF, timeout).
func Probe(ctx context.Context, ns, local, remote string, wait time.Duration) Outcome {
	return probe(ctx, ns, local, remote, wait, false)
}

// ProbeHold is Probe that, after the echo, keeps the connection open and
// reading until it ends or wait runs out: a blocked connection whose reset
// lost the race against the first reply (DESIGN.md §7) still ends in a
// reset here, while one the block missed runs until the deadline.
func ProbeHold(ctx context.Context, ns, local, remote string, wait time.Duration) Outcome {
	return probe(ctx, ns, local, remote, wait, true)
}

func probe(ctx context.Context, ns, local, remote string, wait time.Duration,
	hold bool) Outcome {
	c, err := Dial(ctx, ns, local, remote)
	if err != nil {
		ep := newEndpoint("client-probe", nil)
		ep.finish(err)
		return ep.Snapshot()
	}
	defer c.Close()
	ep := newEndpoint("client-probe", c)
	_ = c.SetDeadline(time.Now().Add(wait))

	n, err := c.Write(append([]byte{ModeEcho}, probeMsg...))
	ep.sent(n)
	if err != nil {
		ep.finish(err)
		return ep.Snapshot()
	}
	buf := make([]byte, len(probeMsg))
	n, err = io.ReadFull(c, buf)
	ep.received(n)
	for hold && err == nil {
		n, err = c.Read(buf)
		ep.received(n)
	}
	ep.finish(err)
	return ep.Snapshot()
}
