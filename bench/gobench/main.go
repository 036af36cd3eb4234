// Command gobench runs the benchmarks that live beside the softips code
// (`go test -run '^$' -bench . -benchmem -json`), one package at a time
// under a time cap, and writes each figure as a result row. A package that
// is expected but absent, or has no benchmark yet, gets a row saying so.
//
// Usage: gobench -out rows.json [-root DIR] [-budget 5m] [-benchtime 1s]
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/softips/softips/bench/internal/result"
)

const stage = "gobench"

// Expected names the packages whose benchmarks feed the headline figures,
// with what each is expected to measure.
var Expected = map[string]string{
	"pkg/kernel":    "classifier ns/packet (BPF_PROG_TEST_RUN) beside an empty XDP program; mirror-ring drain",
	"pkg/pipeline":  "decode and reassembly per packet of the largest corpus capture",
	"pkg/replay":    "decode, reassembly and detection per packet of a corpus capture",
	"pkg/detect":    "rule matching at 1, 100 and 10,000 rules",
	"pkg/invariant": "block-signal ingest rate",
	"pkg/av":        "antivirus scan MB/s",
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gobench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("gobench", flag.ContinueOnError)
	out := fs.String("out", "", "write result rows (JSON) to this file")
	root := fs.String("root", ".", "repository root (holds go.mod)")
	budget := fs.Duration("budget", 5*time.Minute, "time budget for all packages")
	capT := fs.Duration("cap", 150*time.Second, "time cap for one package")
	benchtime := fs.String("benchtime", "1s", "go test -benchtime")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("-out is required")
	}
	pkgs, err := benchPackages(*root)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(*budget)
	var rows []result.Row
	for _, p := range pkgs {
		limit := min(*capT, time.Until(deadline))
		rows = append(rows, runPackage(*root, p, *benchtime, limit)...)
	}
	return result.Write(*out, append(rows, missingRows(*root, pkgs)...))
}

// benchPackages lists the directories under pkg/ whose tests declare a
// benchmark, sorted.
func benchPackages(root string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(root, "pkg", "*", "*_test.go"))
	if err != nil {
		return nil, fmt.Errorf("list test files: %w", err)
	}
	set := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read %q: %w", f, err)
		}
		if bytes.Contains(b, []byte("\nfunc Benchmark")) {
			rel, _ := filepath.Rel(root, filepath.Dir(f))
			set[filepath.ToSlash(rel)] = true
		}
	}
	var pkgs []string
	for p := range set {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	return pkgs, nil
}

func missingRows(root string, found []string) []result.Row {
	var rows []result.Row
	for _, p := range sortedKeys(Expected) {
		if contains(found, p) {
			continue
		}
		why := "no benchmark in " + p + " yet"
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			why = p + " is not on this branch yet"
		}
		rows = append(rows, result.Row{Stage: stage, Key: p + ":missing", Source: p,
			Label: p + ": " + Expected[p], Status: result.Skipped,
			Note: "not yet available: " + why})
	}
	return rows
}

func runPackage(root, pkg, benchtime string, limit time.Duration) []result.Row {
	fail := func(st result.Status, why string) []result.Row {
		return []result.Row{{Stage: stage, Key: pkg + ":error", Source: pkg,
			Label: pkg + " benchmarks", Status: st, Note: why}}
	}
	if limit < 5*time.Second {
		return fail(result.Skipped, "not run: the stage's time budget was used up")
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", ".",
		"-benchmem", "-benchtime", benchtime, "-json", "-timeout", limit.String(),
		"./"+pkg+"/")
	cmd.Dir = root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()
	results, lines, err := ParseJSON(&stdout)
	if err != nil {
		return fail(result.Failed, err.Error())
	}
	rows := resultRows(pkg, results)
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		rows = append(rows, fail(result.DNF, fmt.Sprintf("did not finish in %s", limit))...)
	case runErr != nil:
		rows = append(rows, fail(result.Failed, fmt.Sprintf("go test: %v: %s", runErr,
			tail(append(lines, strings.Split(stderr.String(), "\n")...), 3)))...)
	case len(results) == 0:
		rows = append(rows, fail(result.Skipped, "ran no benchmark: "+tail(lines, 2))...)
	}
	return rows
}

// resultRows makes one row per figure of each benchmark line.
func resultRows(pkg string, results []Result) []result.Row {
	var rows []result.Row
	for _, r := range results {
		for _, unit := range r.Order {
			rows = append(rows, result.Row{Stage: stage, Source: pkg, Runs: r.Iters,
				Key:   fmt.Sprintf("%s:%s:%s", pkg, r.Name, unit),
				Label: fmt.Sprintf("%s %s", pkg, strings.TrimPrefix(r.Name, "Benchmark")),
				Value: r.Values[unit], Unit: unit, Status: result.OK})
		}
	}
	return rows
}

func tail(lines []string, n int) string {
	var keep []string
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			keep = append(keep, strings.TrimSpace(l))
		}
	}
	return strings.Join(keep[max(0, len(keep)-n):], " | ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
