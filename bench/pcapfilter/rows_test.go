package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/softips/softips/bench/internal/result"
)

func statuses(rows []result.Row) map[string]result.Status {
	out := map[string]result.Status{}
	for _, r := range rows {
		out[r.Key] = r.Status
	}
	return out
}

// TestRowsForOutcomes checks each way a child can end becomes honest rows.
func TestRowsForOutcomes(t *testing.T) {
	m := mode{optimize: true}
	good := measurement{N: 10, Phase: "compile", CompileSec: 1, Insns: 5000, HitNs: 50,
		MissNs: 40, HitOK: true, MissOK: true}
	cases := []struct {
		name string
		o    outcome
		want map[string]result.Status
		note string // expected in the row named by noteKey
		key  string
	}{
		{"measured", outcome{lines: []measurement{good, {Phase: "add", CompileSec: 1.1}}},
			map[string]result.Status{"compile/full-opt/10": result.OK, "add/full-opt/10": result.OK},
			"4,096-instruction", "insns/full-opt/10"},
		{"killed during add", outcome{lines: []measurement{good}, dnf: true,
			capUsed: 120 * time.Second},
			map[string]result.Status{"miss/full-opt/10": result.OK, "add/full-opt/10": result.DNF},
			"did not finish in 2m0s", "add/full-opt/10"},
		{"killed during compile", outcome{dnf: true, capUsed: time.Minute, maxKiB: 2048},
			map[string]result.Status{"compile/full-opt/10": result.DNF},
			"peak RSS 2 MiB", "peak/full-opt/10"},
		{"compile error", outcome{memCap: 4096, lines: []measurement{{Phase: "compile",
			Err: "malloc", CompileSec: 0.1}}},
			map[string]result.Status{"compile/full-opt/10": result.Failed,
				"add/full-opt/10": result.Failed},
			"more than the 4,096 MiB memory cap", "hit/full-opt/10"},
		{"child crashed", outcome{err: errors.New("child for 10 entries: exit status 2")},
			map[string]result.Status{"insns/full-opt/10": result.Failed},
			"exit status 2", "insns/full-opt/10"},
	}
	for _, c := range cases {
		rows := rowsFor(10, m, c.o)
		if len(rows) != len(metrics) {
			t.Errorf("%s: %d rows, want %d", c.name, len(rows), len(metrics))
		}
		got := statuses(rows)
		for k, st := range c.want {
			if got[k] != st {
				t.Errorf("%s: %s is %q, want %q", c.name, k, got[k], st)
			}
		}
		for _, r := range rows {
			if r.Key == c.key && !strings.Contains(r.Note, c.note) {
				t.Errorf("%s: %s note %q, want it to say %q", c.name, c.key, r.Note, c.note)
			}
		}
	}
}

func TestWrongVerdictIsFlagged(t *testing.T) {
	bad := measurement{Phase: "compile", HitOK: false, MissOK: false}
	for _, r := range rowsFor(10, mode{}, outcome{lines: []measurement{bad}}) {
		if (r.Key == "hit/full-noopt/10" || r.Key == "miss/full-noopt/10") &&
			!strings.HasPrefix(r.Note, "WRONG VERDICT") {
			t.Errorf("%s: note %q", r.Key, r.Note)
		}
	}
}
