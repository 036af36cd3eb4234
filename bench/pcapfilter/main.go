// Command pcapfilter measures libpcap as a block-table matcher: for tables
// of N entries (bench/workload) rendered by flowspec.PcapFilterSet it
// records compile time, peak memory, instruction count, the cost per frame
// of pcap_offline_filter on a hit and a miss, and the time to add one entry
// (a full recompile). Each table is compiled in a child process of its own,
// under a time and a memory cap, so one size neither pollutes another's
// peak memory nor holds the run or the machine hostage.
//
// Usage: pcapfilter -out rows.json [-sizes 10,100,...] [-modes full-opt,...]
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/softips/softips/bench/internal/result"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "pcapfilter:", err)
		os.Exit(1)
	}
}

type flags struct {
	out, sizes, modes, childMode  string
	capT, budget, pktTime, addMax time.Duration
	memCap, n                     int
	child                         bool
}

func parseFlags(args []string) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("pcapfilter", flag.ContinueOnError)
	fs.StringVar(&f.out, "out", "", "write result rows (JSON) to this file")
	fs.StringVar(&f.sizes, "sizes", "10,100,1000,10000,100000", "table sizes")
	fs.StringVar(&f.modes, "modes", "full-opt,untagged-opt",
		"renderings and optimizer settings: full|untagged-opt|noopt, comma-separated")
	fs.DurationVar(&f.capT, "cap", 120*time.Second, "time cap for one table's child")
	fs.DurationVar(&f.budget, "budget", 6*time.Minute, "time budget for the whole stage")
	fs.DurationVar(&f.pktTime, "pkt-time", 300*time.Millisecond, "timing budget per frame")
	fs.DurationVar(&f.addMax, "add-max", 10*time.Second,
		"re-time adding one entry only where a compile takes at most this long")
	fs.IntVar(&f.memCap, "mem-cap", 4096, "address-space cap of one child, MiB")
	fs.BoolVar(&f.child, "child", false, "internal: measure one table and print JSON")
	fs.IntVar(&f.n, "n", 0, "internal: table size for -child")
	fs.StringVar(&f.childMode, "mode", "full-opt", "internal: mode for -child")
	return f, fs.Parse(args)
}

func run(args []string) error {
	f, err := parseFlags(args)
	if err != nil {
		return err
	}
	if f.child {
		return runAsChild(f)
	}
	if f.out == "" {
		return fmt.Errorf("-out is required")
	}
	ns, err := parseSizes(f.sizes)
	if err != nil {
		return err
	}
	p := parent{flags: f, deadline: time.Now().Add(f.budget)}
	var rows []result.Row
	for _, s := range strings.Split(f.modes, ",") {
		m, err := parseMode(s)
		if err != nil {
			return err
		}
		rows = append(rows, p.sweep(ns, m)...)
	}
	return result.Write(f.out, rows)
}

func runAsChild(f flags) error {
	m, err := parseMode(f.childMode)
	if err != nil {
		return err
	}
	if err := capMemory(f.memCap); err != nil {
		return err
	}
	return runChild(os.Stdout, childConfig{n: f.n, mode: m, pktTime: f.pktTime,
		addMax: f.addMax})
}

// capMemory limits this process's address space so a runaway compile fails
// inside the cap instead of taking a shared machine's memory.
func capMemory(mib int) error {
	lim := uint64(mib) << 20
	err := syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: lim, Max: lim})
	if err != nil {
		return fmt.Errorf("cap memory at %d MiB: %w", mib, err)
	}
	return nil
}

func parseSizes(s string) ([]int, error) {
	var ns []int
	for i, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("sizes item %d %q: want a positive integer", i+1, f)
		}
		ns = append(ns, n)
	}
	return ns, nil
}
