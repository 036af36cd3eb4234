// Command memflood floods the detection side of softips with more state
// than it may keep: one million distinct TCP flows into a pipeline worker
// and 100,000 distinct block signals into the block table and the
// invariant extractor, all with their default limits, then as many again. It records the
// heap and resident memory and the occupancy of each table as the flood
// goes on, so the report can show that memory levels off at what the
// configuration allows instead of growing with the flood.
//
// It drives the packages directly (no capture, no kernel) and sends no
// packet anywhere.
//
// Usage: memflood -out rows.json [-flows 1000000] [-signals 100000]
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/softips/softips/bench/internal/result"
)

const stage = "memflood"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "memflood:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("memflood", flag.ContinueOnError)
	out := fs.String("out", "", "write result rows (JSON) to this file")
	flows := fs.Int("flows", 1_000_000, "distinct flows to send")
	signals := fs.Int("signals", 100_000, "distinct block signals to send")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("-out is required")
	}
	rows, err := floodFlows(*flows)
	if err != nil {
		return err
	}
	sig, err := floodSignals(*signals)
	if err != nil {
		return err
	}
	return result.Write(*out, append(rows, sig...))
}

// memory is the process's memory at one point, after a full collection.
type memory struct {
	heapMiB float64 // live heap
	rssMiB  float64 // resident set, as the kernel counts it
}

func measureMemory() memory {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memory{heapMiB: float64(ms.HeapAlloc) / (1 << 20), rssMiB: rssMiB()}
}

// rssMiB reads VmRSS from /proc/self/status.
func rssMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func row(key, label, unit string, v float64) result.Row {
	return result.Row{Stage: stage, Key: key, Label: label, Unit: unit, Value: v,
		Status: result.OK}
}

// checkpoints are the points of a flood of n items, in halves of n, at
// which memory is read: n/2, n and 2n. The flood goes on to twice the
// size asked for so that the last step shows whether memory still grows.
var checkpoints = []int{1, 2, 4}

func checkpoint(n, i int) int { return n * checkpoints[i] / 2 }

// memoryRows records heap and RSS at each checkpoint of a flood of n items
// and the heap growth from n to 2n: near 1 when the tables are full and
// memory has levelled off.
func memoryRows(prefix, what string, n int, base memory, at []memory) []result.Row {
	var rows []result.Row
	for i, m := range at {
		k := checkpoint(n, i)
		rows = append(rows,
			row(fmt.Sprintf("%s/heap_mib@%d", prefix, k),
				fmt.Sprintf("%s: live heap growth after %s", what, result.Thousands(k)), "MiB",
				m.heapMiB-base.heapMiB),
			row(fmt.Sprintf("%s/rss_mib@%d", prefix, k),
				fmt.Sprintf("%s: RSS growth after %s", what, result.Thousands(k)), "MiB",
				m.rssMiB-base.rssMiB))
	}
	mid, last := at[1].heapMiB-base.heapMiB, at[2].heapMiB-base.heapMiB
	g := row(prefix+"/heap_growth", fmt.Sprintf("%s: heap at %s / heap at %s", what,
		result.Thousands(2*n), result.Thousands(n)), "ratio", last/max(mid, 0.001))
	return append(rows, g)
}
