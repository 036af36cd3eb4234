package kernel

import (
	"time"

	"golang.org/x/sys/unix"
)

// monoClock converts kernel monotonic nanoseconds (bpf_ktime_get_ns) to
// wall-clock time, from one reading of both clocks.
type monoClock struct {
	mono int64
	now  time.Time
}

func newMonoClock() monoClock {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) // cannot fail for this clock
	return monoClock{mono: ts.Nano(), now: time.Now()}
}

// wall returns the wall time of kernel time ns; zero for ns == 0 (never).
func (m monoClock) wall(ns uint64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return m.now.Add(time.Duration(int64(ns) - m.mono))
}
