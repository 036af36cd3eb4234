package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/softips/softips/bench/internal/result"
)

const stage = "reset"

type skipList []string

func (s *skipList) String() string     { return strings.Join(*s, ",") }
func (s *skipList) Set(v string) error { *s = append(*s, v); return nil }

func cmdSummarize(args []string) error {
	fs := flag.NewFlagSet("summarize", flag.ContinueOnError)
	runsPath := fs.String("runs", "", "JSON lines written by analyze run")
	out := fs.String("out", "", "result rows file")
	var skips skipList
	fs.Var(&skips, "skip", "TOOL=WHY: a tool that was not run, and why (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	runs, err := readRuns(*runsPath)
	if err != nil {
		return err
	}
	rows := summarize(runs)
	for _, s := range skips {
		tool, why, _ := strings.Cut(s, "=")
		rows = append(rows, result.Row{Stage: stage, Key: tool + "/skipped", Source: tool,
			Label: tool + ": time to reset", Status: result.Skipped, Note: why})
	}
	return result.Write(*out, rows)
}

func readRuns(path string) ([]runResult, error) {
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read runs: %w", err)
	}
	defer f.Close()
	var runs []runResult
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		var r runResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("runs %q line %d: %w", path, line, err)
		}
		runs = append(runs, r)
	}
	return runs, sc.Err()
}

// summarize makes the rows of each tool and mode: reset time (median, with
// min and max), RSTs sent, bytes through and challenge ACKs.
func summarize(runs []runResult) []result.Row {
	groups := map[[2]string][]runResult{}
	var keys [][2]string
	for _, r := range runs {
		k := [2]string{r.Tool, r.Mode}
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	var rows []result.Row
	challenges := map[string]float64{}
	for _, k := range keys {
		rows = append(rows, groupRows(k[0], k[1], groups[k])...)
		for _, r := range groups[k] {
			challenges[k[0]] += float64(r.ChallengeACKs)
		}
	}
	for tool, n := range challenges {
		rows = append(rows, result.Row{Stage: stage, Key: tool + "/all/challenge_acks",
			Label: tool + ": challenge ACKs provoked, all runs", Value: n, Unit: "ACKs",
			Status: result.OK, Source: tool})
	}
	return rows
}

func groupRows(tool, mode string, runs []runResult) []result.Row {
	var times, sent, bytes, ready []float64
	var notes []string
	exact, challenges := 0, 0
	for _, r := range runs {
		sent = append(sent, float64(r.RSTSent))
		ready = append(ready, r.ReadyMs)
		bytes = append(bytes, float64(r.BytesThrough))
		exact += r.ExactFirst
		challenges += r.ChallengeACKs
		if r.BothReset {
			times = append(times, r.ResetMs)
		} else if r.Note != "" {
			notes = append(notes, r.Note)
		}
	}
	row := func(metric, label, unit string) result.Row {
		return result.Row{Stage: stage, Key: fmt.Sprintf("%s/%s/%s", tool, mode, metric),
			Label: fmt.Sprintf("%s, %s connection: %s", tool, mode, label), Unit: unit,
			Status: result.OK, Runs: len(runs), Source: tool}
	}
	t := row("median_ms", "time to reset both ends (median)", "ms")
	t.Extra = fmt.Sprintf("%d of %d runs reset both ends", len(times), len(runs))
	if len(times) == 0 {
		t.Status, t.Note = result.Failed, "no run reset both ends: "+firstOf(notes)
	} else {
		t.Value = median(times)
		t.Extra += fmt.Sprintf("; min %.1f, max %.1f ms", minOf(times), maxOf(times))
		if len(notes) > 0 {
			t.Note = "runs that failed: " + strings.Join(uniq(notes), "; ")
		}
	}
	s := row("rst_sent", "RSTs sent (median per run)", "RSTs")
	s.Value, s.Extra = median(sent), fmt.Sprintf("max %.0f", maxOf(sent))
	b := row("bytes_through", "payload bytes through after the trigger (median)", "B")
	b.Value, b.Extra = median(bytes), fmt.Sprintf("max %.0f", maxOf(bytes))
	c := row("challenge_acks", "challenge ACKs provoked (all runs)", "ACKs")
	c.Value = float64(challenges)
	c.Extra = fmt.Sprintf("first RST exact at %d of %d ends", exact, 2*len(runs))
	rd := row("ready_ms", "block command until the blocker is in place (median)", "ms")
	rd.Value, rd.Extra = median(ready), fmt.Sprintf("max %.1f ms", maxOf(ready))
	return []result.Row{t, rd, s, b, c}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minOf(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return "no run recorded"
	}
	return s[0]
}

func uniq(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
