// Command xdpbench measures the softips XDP classifier per packet with
// BPF_PROG_TEST_RUN on exactly the tables and frames the libpcap benchmark
// uses (bench/workload), beside an empty XDP program that only returns
// XDP_PASS, so the two matchers are compared like for like.
//
// It loads pkg/kernel's classifier through its exported API and finds the
// loaded program by the id of the blocks map it uses; it attaches nothing
// to any interface. Its maps are pinned under -pin, which must be on a
// bpffs: run.sh starts it in a private mount namespace with a bpffs of its
// own. Needs root.
//
// Usage: xdpbench -pin DIR -out rows.json [-sizes 10,...] [-repeat 200000]
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/softips/softips/bench/internal/result"
	"github.com/softips/softips/bench/workload"
	"github.com/softips/softips/pkg/kernel"
)

const stage = "xdpbench"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "xdpbench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("xdpbench", flag.ContinueOnError)
	pin := fs.String("pin", "", "bpffs directory for the classifier's maps")
	out := fs.String("out", "", "write result rows (JSON) to this file")
	sizes := fs.String("sizes", "10,100,1000,10000,100000", "table sizes")
	repeat := fs.Int("repeat", 200_000, "BPF_PROG_TEST_RUN repeat count per round")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pin == "" || *out == "" {
		return errors.New("-pin and -out are required")
	}
	hit, miss, err := frames()
	if err != nil {
		return err
	}
	rows := []result.Row{emptyRow(miss, *repeat)}
	for _, f := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return fmt.Errorf("sizes item %q: want a positive integer", f)
		}
		rows = append(rows, measure(*pin, n, hit, miss, *repeat)...)
	}
	rows = append(rows, mirrorRows(*pin, miss)...)
	return result.Write(*out, rows)
}

func frames() (hit, miss []byte, err error) {
	if hit, err = workload.HitFrame(); err != nil {
		return nil, nil, err
	}
	miss, err = workload.MissFrame()
	return hit, miss, err
}

func row(key, label string, n int) result.Row {
	return result.Row{Stage: stage, Key: key, Label: label, N: n, Unit: "ns/pkt",
		Source: "pkg/kernel (BPF_PROG_TEST_RUN)"}
}

// emptyRow times an XDP program that does nothing but return XDP_PASS:
// the floor any XDP program pays.
func emptyRow(frame []byte, repeat int) result.Row {
	r := row("empty", "empty XDP program (return XDP_PASS)", 0)
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.XDP, License: "MIT",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 2), asm.Return()}})
	if err != nil {
		r.Status, r.Note = result.Failed, fmt.Sprintf("load empty program: %v", err)
		return r
	}
	defer prog.Close()
	return timed(r, prog, frame, repeat)
}

// timedRounds is how many rounds timed runs, spread out in time: on a
// shared machine (or a busy sibling hyperthread) a stretch of rounds can
// all run at half speed, and the fastest round is the classifier's own cost.
const timedRounds = 7

// timed runs prog on frame in rounds 20 ms apart and keeps the fastest
// round's cost per packet.
func timed(r result.Row, prog *ebpf.Program, frame []byte, repeat int) result.Row {
	best := time.Duration(-1)
	for i := range timedRounds {
		if i > 0 {
			time.Sleep(20 * time.Millisecond)
		}
		_, d, err := prog.Benchmark(frame, repeat, nil)
		if err != nil {
			r.Status, r.Note = result.Failed, err.Error()
			return r
		}
		if best < 0 || d < best {
			best = d
		}
	}
	r.Status, r.Value, r.Runs = result.OK, float64(best.Nanoseconds()), timedRounds*repeat
	if best < 10*time.Nanosecond {
		// The kernel reports whole nanoseconds per run; say how coarse.
		r.Extra = "kernel timer resolution is 1 ns per packet"
	}
	return r
}

// missFrames is how many distinct miss frames the miss figure covers.
const missFrames = 16

// timedMisses times the workload's miss frame and further distinct misses
// and reports the median, with the range beside it: the classifier answers
// misses from hashed buckets, so one frame is one point of a spread.
func timedMisses(r result.Row, prog *ebpf.Program, first []byte, repeat int) result.Row {
	frames := [][]byte{first}
	for _, t := range workload.MissTuples(missFrames - 1) {
		f, err := workload.Frame(t, 100)
		if err != nil {
			r.Status, r.Note = result.Failed, err.Error()
			return r
		}
		frames = append(frames, f)
	}
	costs := make([]float64, 0, len(frames))
	for _, f := range frames {
		one := timed(r, prog, f, repeat)
		if one.Status != result.OK {
			return one
		}
		costs = append(costs, one.Value)
	}
	single := costs[0]
	slices.Sort(costs)
	r.Status, r.Runs = result.OK, timedRounds*repeat*len(frames)
	r.Value = costs[len(costs)/2]
	r.Extra = fmt.Sprintf("median of %d miss frames, min %.0f, max %.0f; the workload's "+
		"miss frame %.0f", len(costs), costs[0], costs[len(costs)-1], single)
	return r
}

func measure(pin string, n int, hit, miss []byte, repeat int) []result.Row {
	hr := row(fmt.Sprintf("entries=%d/hit", n), fmt.Sprintf("XDP classifier, %s entries, "+
		"hit frame", result.Thousands(n)), n)
	mr := row(fmt.Sprintf("entries=%d/miss", n), fmt.Sprintf("XDP classifier, %s entries, "+
		"miss frame", result.Thousands(n)), n)
	fail := func(err error) []result.Row {
		hr.Status, hr.Note = result.Failed, err.Error()
		mr.Status, mr.Note = result.Failed, err.Error()
		return []result.Row{hr, mr}
	}
	dir := filepath.Join(pin, fmt.Sprintf("sipb-xdpbench-%d", n))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fail(fmt.Errorf("pin directory: %w", err))
	}
	defer os.RemoveAll(dir)
	c, err := kernel.Load(kernel.Options{PinPath: dir})
	if err != nil {
		return fail(err)
	}
	defer c.Close()
	prog, err := loadTable(c, dir, n)
	if err != nil {
		return fail(err)
	}
	defer prog.Close()
	mr = timedMisses(mr, prog, miss, repeat)
	hr = timed(hr, prog, hit, repeat)
	if shapes, err := c.Shapes(); err == nil {
		hr.Extra = fmt.Sprintf("%d distinct shapes", shapes)
		mr.Extra = strings.TrimPrefix(mr.Extra+"; "+hr.Extra, "; ")
	}
	if err := checkVerdicts(c, prog, hit, miss); err != nil {
		hr.Note, mr.Note = "WRONG VERDICT: "+err.Error(), "WRONG VERDICT: "+err.Error()
	}
	return []result.Row{hr, mr}
}

// loadTable installs the workload table of n entries and returns the
// classifier's program.
func loadTable(c *kernel.Classifier, dir string, n int) (*ebpf.Program, error) {
	specs := workload.Table(n, workload.Seed)
	entries := make([]kernel.Entry, len(specs))
	for i, s := range specs {
		entries[i] = kernel.Entry{ID: uint64(i + 1), Spec: s}
	}
	if err := c.SetBlocks(entries); err != nil {
		return nil, fmt.Errorf("set %d blocks: %w", n, err)
	}
	return findProgram(filepath.Join(dir, "blocks"))
}
