package main

import (
	"encoding/json"
	"io"
	"runtime"
	"syscall"
	"time"

	"github.com/softips/softips/bench/internal/libpcap"
	"github.com/softips/softips/bench/workload"
	"github.com/softips/softips/pkg/flowspec"
)

// snaplen is tcpdump's default snapshot length.
const snaplen = 262144

// measurement is what one child reports for one table, one JSON line per
// phase: "compile" first (so it survives a kill during the second), then
// "add" for the recompile with one more entry.
type measurement struct {
	N          int     `json:"n"`
	Phase      string  `json:"phase"`
	ExprBytes  int     `json:"expr_bytes"`
	CompileSec float64 `json:"compile_s"`
	CompileCPU float64 `json:"compile_cpu_s"` // user+system time of the compile
	PeakKiB    int64   `json:"peak_kib"`      // maxrss growth during the compile
	Insns      int     `json:"insns"`
	Err        string  `json:"err,omitempty"`
	HitNs      float64 `json:"hit_ns"`
	MissNs     float64 `json:"miss_ns"`
	HitOK      bool    `json:"hit_ok"`  // the hit frame passed the filter
	MissOK     bool    `json:"miss_ok"` // the miss frame did not
	AddSkipped bool    `json:"add_skipped,omitempty"`
}

// childConfig is what the parent passes to a child on its command line.
type childConfig struct {
	n       int
	mode    mode
	pktTime time.Duration // timing budget per frame
	addMax  time.Duration // re-time an insertion only if a compile is faster
}

// runChild measures one table in this process and writes JSON lines to w.
func runChild(w io.Writer, c childConfig) error {
	enc := json.NewEncoder(w)
	specs := workload.Table(c.n, workload.Seed)
	m, prog, err := compileTable(specs, c.mode)
	if err != nil {
		return err
	}
	m.Phase = "compile"
	if prog != nil {
		if err := timeFrames(&m, prog, c.pktTime); err != nil {
			return err
		}
		prog.Free()
	}
	if err := enc.Encode(m); err != nil || prog == nil {
		return err
	}
	add := measurement{Phase: "add", N: c.n, AddSkipped: true}
	if m.CompileSec <= c.addMax.Seconds() {
		add, prog, err = compileTable(append(specs, workload.AddSpec), c.mode)
		if err != nil {
			return err
		}
		if prog != nil {
			prog.Free()
		}
		add.Phase, add.N = "add", c.n
	}
	return enc.Encode(add)
}

func compileTable(specs []flowspec.Spec, md mode) (measurement, *libpcap.Program, error) {
	expr, err := md.render(specs)
	if err != nil {
		return measurement{}, nil, err
	}
	m := measurement{N: len(specs), ExprBytes: len(expr)}
	runtime.GC()
	before, cpu0 := usage()
	start := time.Now()
	prog, err := libpcap.Compile(expr, snaplen, md.optimize)
	m.CompileSec = time.Since(start).Seconds()
	after, cpu1 := usage()
	m.PeakKiB, m.CompileCPU = after-before, cpu1-cpu0
	if err != nil {
		m.Err = err.Error()
		return m, nil, nil
	}
	m.Insns = prog.Len()
	return m, prog, nil
}

func timeFrames(m *measurement, prog *libpcap.Program, budget time.Duration) error {
	hit, err := workload.HitFrame()
	if err != nil {
		return err
	}
	miss, err := workload.MissFrame()
	if err != nil {
		return err
	}
	var passed int
	m.HitNs, passed = nsPerFrame(prog, hit, budget)
	m.HitOK = passed > 0
	m.MissNs, passed = nsPerFrame(prog, miss, budget)
	m.MissOK = passed == 0
	return nil
}

// nsPerFrame runs the filter in rounds of a calibrated length and returns
// the fastest round's cost per frame (the least disturbed by other load on
// a shared machine) and how many frames passed in it.
func nsPerFrame(prog *libpcap.Program, frame []byte, budget time.Duration) (float64, int) {
	iters := 1
	var per time.Duration
	for {
		start := time.Now()
		_, _ = prog.Run(frame, iters)
		per = time.Since(start)
		if per > budget/100 || iters > 1<<30 {
			break
		}
		iters *= 4
	}
	round := max(1, int(float64(iters)*float64(budget/5)/float64(per)))
	best, passed := -1.0, 0
	for range 3 {
		start := time.Now()
		passed, _ = prog.Run(frame, round)
		ns := float64(time.Since(start).Nanoseconds()) / float64(round)
		if best < 0 || ns < best {
			best = ns
		}
	}
	return best, passed
}

// usage returns this process's peak RSS in KiB and its CPU time so far in
// seconds. The machine may be shared, so CPU time is the steadier figure.
func usage() (int64, float64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return ru.Maxrss, cpu.Seconds()
}
