package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"

	"github.com/softips/softips/bench/internal/result"
	"github.com/softips/softips/pkg/kernel"
)

// mirrorRows measures the detection mirror: the classifier's cost per
// packet with one mirror ring fed, and how fast one consumer goroutine
// drains a full ring through kernel.ReadMirror. Each round fills the ring
// with BPF_PROG_TEST_RUN first, then drains it, so the drain rate is the
// consumer's alone; the fastest of five rounds is kept.
func mirrorRows(pin string, frame []byte) []result.Row {
	prod := row("mirror/produce", "XDP classifier feeding one mirror ring, empty table", 0)
	drain := result.Row{Stage: stage, Key: "mirror/drain", Unit: "records/s",
		Label:  "mirror ring drained by one consumer (kernel.ReadMirror), full ring",
		Source: "pkg/kernel"}
	fail := func(err error) []result.Row {
		prod.Status, prod.Note = result.Failed, err.Error()
		drain.Status, drain.Note = result.Failed, err.Error()
		return []result.Row{prod, drain}
	}
	dir := filepath.Join(pin, "sipb-xdpbench-mirror")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fail(fmt.Errorf("pin directory: %w", err))
	}
	defer os.RemoveAll(dir)
	c, err := kernel.Load(kernel.Options{PinPath: dir, MirrorShards: 1})
	if err != nil {
		return fail(err)
	}
	defer c.Close()
	prog, err := findProgram(filepath.Join(dir, "blocks"))
	if err != nil {
		return fail(err)
	}
	defer prog.Close()
	d, err := drainRounds(c, prog, frame)
	if err != nil {
		return fail(err)
	}
	drain.Status, drain.Value, drain.Runs = result.OK, d.rate, 5
	drain.Extra = fmt.Sprintf("%d records per full ring", d.records)
	prod.Status, prod.Value = result.OK, float64(d.produce.Nanoseconds())
	prod.Extra = fmt.Sprintf("first %d frames into an empty ring", fillStep)
	return []result.Row{prod, drain}
}

// fillStep is how many frames one test run sends while filling the ring;
// less than a 4 MiB ring holds, so the first step of a fill meets no drop.
const fillStep = 10_000

// drained is what the fill and drain rounds measured, the best of each.
type drained struct {
	rate    float64       // records per second drained
	records uint64        // records in a full ring
	produce time.Duration // classifier cost per frame while the ring has room
}

// mirrorCounters is the part of kernel.Classifier the drain rounds use.
type mirrorCounters interface {
	Counters() (map[string]uint64, error)
	ReadMirror(ctx context.Context, shard int, fn func(kernel.MirrorRecord)) error
}

func drainRounds(c mirrorCounters, prog *ebpf.Program, frame []byte) (drained, error) {
	var d drained
	for i := range 5 {
		n, produce, err := fill(c, prog, frame)
		if err != nil {
			return d, err
		}
		rate, err := drainOnce(c, n)
		if err != nil {
			return d, err
		}
		d.rate, d.records = max(d.rate, rate), n
		if i == 0 || produce < d.produce {
			d.produce = produce
		}
	}
	return d, nil
}

// fill runs the frame until the ring refuses records and returns how many
// it queued and the cost per frame of the first step, into an empty ring.
func fill(c mirrorCounters, prog *ebpf.Program, frame []byte) (uint64, time.Duration, error) {
	before, err := c.Counters()
	if err != nil {
		return 0, 0, err
	}
	var first time.Duration
	for i := range 64 {
		_, d, err := prog.Benchmark(frame, fillStep, nil)
		if err != nil {
			return 0, 0, err
		}
		if i == 0 {
			first = d
		}
		now, err := c.Counters()
		if err != nil {
			return 0, 0, err
		}
		if now["mirror_full"] > before["mirror_full"] {
			return now["mirror_queued"] - before["mirror_queued"], first, nil
		}
	}
	return 0, 0, errors.New("the mirror ring never filled: is the frame mirrored?")
}

// drainOnce reads n records and returns the rate from the first to the last.
func drainOnce(c mirrorCounters, n uint64) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got atomic.Uint64
	var first, last time.Time
	err := c.ReadMirror(ctx, 0, func(kernel.MirrorRecord) {
		k := got.Add(1)
		if k == 1 {
			first = time.Now()
		}
		if k == n {
			last = time.Now()
			cancel()
		}
	})
	if err != nil {
		return 0, fmt.Errorf("drain mirror: %w", err)
	}
	if got.Load() < n || n < 2 {
		return 0, fmt.Errorf("drain mirror: read %d of %d records in 20 s", got.Load(), n)
	}
	return float64(n-1) / last.Sub(first).Seconds(), nil
}
