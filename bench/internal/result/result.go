// Package result is the one record every softips benchmark stage writes:
// a flat list of measured values, each with its unit and its status, so the
// report can compute ratios against baselines measured in the same run.
// It must never measure anything itself.
package result

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
)

// Status says whether a Row holds a measured value.
type Status string

// The statuses of a row. Only OK rows carry a Value.
const (
	OK      Status = "ok"      // measured
	DNF     Status = "dnf"     // did not finish within its time cap
	Failed  Status = "failed"  // the measured thing refused (e.g. a compile error)
	Skipped Status = "skipped" // not run; Note says why
)

// Row is one measured figure.
type Row struct {
	Stage  string  `json:"stage"`            // "pcapfilter", "gobench", "reset", ...
	Key    string  `json:"key"`              // stable id within the stage
	Label  string  `json:"label"`            // for people
	Value  float64 `json:"value"`            // in Unit; meaningful when Status is OK
	Unit   string  `json:"unit"`             // "ns/pkt", "s", "MiB", "insns", ...
	Status Status  `json:"status"`           // see the constants
	Note   string  `json:"note,omitempty"`   // why skipped/failed, or a caveat
	N      int     `json:"n,omitempty"`      // table size, rule count, run count
	Extra  string  `json:"extra,omitempty"`  // free-form detail (min/max, counts)
	Runs   int     `json:"runs,omitempty"`   // repetitions behind Value
	Source string  `json:"source,omitempty"` // package or tool that produced it
}

// Set is the rows of one stage, keyed for lookup.
type Set []Row

// Find returns the row of stage and key.
func (s Set) Find(stage, key string) (Row, bool) {
	for _, r := range s {
		if r.Stage == stage && r.Key == key {
			return r, true
		}
	}
	return Row{}, false
}

// Value returns the value of an OK row of stage and key.
func (s Set) Value(stage, key string) (float64, bool) {
	r, ok := s.Find(stage, key)
	if !ok || r.Status != OK {
		return 0, false
	}
	return r.Value, true
}

// Write stores rows as indented JSON at path.
func Write(path string, rows []Row) error {
	b, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return fmt.Errorf("encode rows: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write rows: %w", err)
	}
	return nil
}

// Read loads rows written by Write.
func Read(path string) (Set, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read rows: %w", err)
	}
	var rows Set
	if err := json.Unmarshal(b, &rows); err != nil {
		return nil, fmt.Errorf("decode rows %q: %w", path, err)
	}
	return rows, nil
}

// Thousands formats n with comma separators for row labels and reports:
// 100000 -> "100,000".
func Thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
