package kernel

import "testing"

// TestSteadyClock: one kernel timestamp converts to the same wall time on
// every read, so an idle entry's last hit does not creep forward.
func TestSteadyClock(t *testing.T) {
	var c monoClock
	first := c.steady().wall(123_456_789)
	for range 100 {
		if got := c.steady().wall(123_456_789); !got.Equal(first) {
			t.Fatalf("wall time moved from %v to %v", first, got)
		}
	}
}
