//go:build linux

package e2e

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// Talk is a request/answer conversation on one connection, step by step,
// for scenarios that send chosen bytes at chosen moments. Its Endpoint
// records what the client saw.
type Talk struct {
	c  net.Conn
	ep *Endpoint
}

// NewTalk starts a conversation on c; the connection lives at most
// MaxConnLife.
func NewTalk(c net.Conn, label string) *Talk {
	_ = c.SetDeadline(time.Now().Add(MaxConnLife))
	return &Talk{c: c, ep: newEndpoint(label, c)}
}

// Endpoint returns the client side's record.
func (t *Talk) Endpoint() *Endpoint { return t.ep }

// Send writes msg; a failure ends the conversation.
func (t *Talk) Send(msg []byte) error {
	n, err := t.c.Write(msg)
	t.ep.sent(n)
	if err != nil {
		t.ep.finish(err)
		return fmt.Errorf("talk send: %w", err)
	}
	return nil
}

// Expect reads exactly n bytes within wait; a failure ends the
// conversation, a timeout included.
func (t *Talk) Expect(n int, wait time.Duration) ([]byte, error) {
	_ = t.c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, n)
	k, err := io.ReadFull(t.c, buf)
	t.ep.received(k)
	if err != nil {
		t.ep.finish(err)
		return buf[:k], fmt.Errorf("talk expect %d bytes: got %d: %w", n, k, err)
	}
	return buf, nil
}

// Hold reads whatever comes until the connection ends or wait passes, and
// returns the outcome; a connection still open at the deadline reports
// EndNone.
func (t *Talk) Hold(wait time.Duration) Outcome {
	_ = t.c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 64<<10)
	for range maxReads {
		n, err := t.c.Read(buf)
		t.ep.received(n)
		if isTimeout(err) {
			return t.ep.Snapshot()
		}
		if err != nil {
			t.ep.finish(err)
			break
		}
	}
	return t.ep.Snapshot()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Close ends the conversation from the client side.
func (t *Talk) Close() {
	t.ep.finish(nil)
	_ = t.c.Close()
}
