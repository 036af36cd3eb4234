//go:build linux

package e2e

import (
	"syscall"
	"testing"
)

// TestWaitAfterEndReportsEnded: an endpoint that has ended must say so even
// when the wait budget is already spent (a select between a closed channel
// and a fired timer picks at random).
func TestWaitAfterEndReportsEnded(t *testing.T) {
	ep := newEndpoint("t", nil)
	ep.finish(syscall.ECONNRESET)
	for i := range 200 {
		if o, ended := ep.Wait(-1); !ended || o.End != EndReset {
			t.Fatalf("try %d: Wait = %v, %v; want reset, true", i, o.End, ended)
		}
	}
}

// TestFinishKeepsFirstEnd: the first error that ends a connection is the
// one reported; the harness closing it afterwards changes nothing.
func TestFinishKeepsFirstEnd(t *testing.T) {
	ep := newEndpoint("t", nil)
	ep.finish(syscall.ECONNRESET)
	ep.finish(nil)
	if o := ep.Snapshot(); o.End != EndReset {
		t.Errorf("End = %v, want reset", o.End)
	}
}
