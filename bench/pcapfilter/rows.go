package main

import (
	"fmt"
	"strings"

	"github.com/softips/softips/bench/internal/libpcap"
	"github.com/softips/softips/bench/internal/result"
)

// Key names the row of one metric, mode and size: "miss/untagged-opt/1000".
func Key(metric string, m mode, n int) string {
	return fmt.Sprintf("%s/%s/%d", metric, m, n)
}

var metrics = []struct{ key, label, unit string }{
	{"compile", "compile time", "s"},
	{"peak", "compile peak memory", "MiB"},
	{"insns", "cBPF instructions", "insns"},
	{"hit", "pcap_offline_filter, hit frame", "ns/pkt"},
	{"miss", "pcap_offline_filter, miss frame", "ns/pkt"},
	{"add", "add one entry (full recompile)", "s"},
}

func newRow(metric string, m mode, n int) result.Row {
	for _, mt := range metrics {
		if mt.key == metric {
			return result.Row{Stage: stage, Key: Key(metric, m, n), N: n, Unit: mt.unit,
				Source: "libpcap", Label: fmt.Sprintf("libpcap (%s), %s entries: %s",
					m.label(), result.Thousands(n), mt.label)}
		}
	}
	panic("pcapfilter: unknown metric " + metric)
}

func statusRows(n int, m mode, st result.Status, why string) []result.Row {
	rows := make([]result.Row, 0, len(metrics))
	for _, mt := range metrics {
		r := newRow(mt.key, m, n)
		r.Status, r.Note = st, why
		rows = append(rows, r)
	}
	return rows
}

// rowsFor turns one child's outcome into a row per metric.
func rowsFor(n int, m mode, o outcome) []result.Row {
	var compile, add *measurement
	for i := range o.lines {
		switch o.lines[i].Phase {
		case "compile":
			compile = &o.lines[i]
		case "add":
			add = &o.lines[i]
		}
	}
	if compile == nil {
		return unfinishedRows(n, m, o)
	}
	if compile.Err != "" {
		return statusRows(n, m, result.Failed, compileFailure(*compile, o))
	}
	return append(compileRows(n, m, *compile, o), addRow(n, m, *compile, add, o))
}

func addRow(n int, m mode, compile measurement, add *measurement, o outcome) result.Row {
	r := newRow("add", m, n)
	switch {
	case add == nil:
		r.Status, r.Note = result.DNF, notFinished(o)
	case add.AddSkipped:
		r.Status = result.Skipped
		r.Note = fmt.Sprintf("a full recompile, so about the compile time (%.1f s); "+
			"not re-run to stay within the time budget", compile.CompileSec)
	case add.Err != "":
		r.Status, r.Note = result.Failed, compileFailure(*add, o)
	default:
		r.Status, r.Value = result.OK, add.CompileSec
		r.Extra = fmt.Sprintf("%.3f s CPU", add.CompileCPU)
	}
	return r
}

func notFinished(o outcome) string {
	if o.err != nil {
		return o.err.Error()
	}
	return fmt.Sprintf("did not finish in %s", o.capUsed)
}

func unfinishedRows(n int, m mode, o outcome) []result.Row {
	st := result.DNF
	if o.err != nil {
		st = result.Failed
	}
	rows := statusRows(n, m, st, notFinished(o))
	if o.maxKiB > 0 {
		rows[1].Note += fmt.Sprintf("; child peak RSS %.0f MiB when stopped",
			float64(o.maxKiB)/1024)
	}
	return rows
}

func compileRows(n int, m mode, ms measurement, o outcome) []result.Row {
	rows := make([]result.Row, 0, len(metrics))
	for _, mt := range metrics[:5] {
		r := newRow(mt.key, m, n)
		r.Status = result.OK
		switch mt.key {
		case "compile":
			r.Value = ms.CompileSec
			r.Extra = fmt.Sprintf("%.3f s CPU; expression %s bytes", ms.CompileCPU,
				result.Thousands(ms.ExprBytes))
		case "peak":
			r.Value = float64(ms.PeakKiB) / 1024
			r.Extra = fmt.Sprintf("child peak RSS %.0f MiB", float64(o.maxKiB)/1024)
		case "insns":
			r.Value = float64(ms.Insns)
			if ms.Insns > libpcap.MaxSocketFilterInsns {
				r.Note = "over the kernel's 4,096-instruction socket-filter limit"
			}
		case "hit":
			r.Value = ms.HitNs
			if !ms.HitOK {
				r.Note = "WRONG VERDICT: the hit frame did not pass"
			}
		case "miss":
			r.Value = ms.MissNs
			if !ms.MissOK {
				r.Note = "WRONG VERDICT: the miss frame passed"
			}
		}
		rows = append(rows, r)
	}
	return rows
}

func compileFailure(ms measurement, o outcome) string {
	why := fmt.Sprintf("%s after %.2f s", ms.Err, ms.CompileSec)
	if strings.HasSuffix(ms.Err, "malloc") || strings.Contains(ms.Err, "out of memory") {
		why += fmt.Sprintf(" (needed more than the %s MiB memory cap)", result.Thousands(o.memCap))
	}
	return why
}
