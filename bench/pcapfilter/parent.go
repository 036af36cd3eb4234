package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/softips/softips/bench/internal/result"
)

const stage = "pcapfilter"

type parent struct {
	flags
	deadline time.Time
}

// outcome is what one child run produced: its lines, how it ended, and the
// child's peak resident memory as its parent saw it.
type outcome struct {
	lines   []measurement
	dnf     bool
	err     error
	capUsed time.Duration
	maxKiB  int64
	memCap  int // MiB
}

// sweep measures each size in turn. Once a size does not finish within the
// cap, larger sizes are not attempted: compile time only grows with N.
func (p parent) sweep(ns []int, m mode) []result.Row {
	var rows []result.Row
	stopped := ""
	for _, n := range ns {
		if stopped != "" {
			rows = append(rows, statusRows(n, m, result.Skipped, stopped)...)
			continue
		}
		o := p.runOne(n, m)
		rows = append(rows, rowsFor(n, m, o)...)
		switch {
		case o.dnf && o.capUsed < p.capT:
			stopped = "not attempted: the stage's time budget was used up"
		case o.dnf:
			stopped = fmt.Sprintf("not attempted: %s entries already did not finish in %s",
				result.Thousands(n), o.capUsed)
		}
	}
	return rows
}

func (p parent) runOne(n int, m mode) outcome {
	limit := min(p.capT, time.Until(p.deadline)).Round(time.Second)
	if limit <= time.Second {
		return outcome{dnf: true}
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-child", "-n", strconv.Itoa(n),
		"-mode", m.String(), "-pkt-time", p.pktTime.String(),
		"-add-max", p.addMax.String(), "-mem-cap", strconv.Itoa(p.memCap))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	o := outcome{capUsed: limit, memCap: p.memCap,
		dnf: errors.Is(ctx.Err(), context.DeadlineExceeded)}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			o.maxKiB = ru.Maxrss
		}
	}
	if err != nil && !o.dnf {
		o.err = fmt.Errorf("child for %d entries: %w: %s", n, err, firstLine(stderr.Bytes()))
	}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var ms measurement
		if json.Unmarshal(sc.Bytes(), &ms) == nil {
			o.lines = append(o.lines, ms)
		}
	}
	return o
}

// firstLine keeps the first line of a child's complaint (a Go out-of-memory
// crash prints thousands of lines of goroutine dump after it).
func firstLine(b []byte) string {
	line, _, _ := bytes.Cut(bytes.TrimSpace(b), []byte("\n"))
	return string(line)
}
