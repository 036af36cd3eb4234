// Command report assembles the rows written by each benchmark stage into
// the run's report: <out>.md for people and <out>.json for tools, with the
// machine and commit, the headline ratios against baselines measured in
// the same run, the cores needed for 10 Gbit/s, and every figure behind
// them.
//
// Usage: report -rows DIR -out bench/results/DATE-COMMIT [-capture FILE]
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/softips/softips/bench/internal/result"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	rowsDir := fs.String("rows", "", "directory of stage row files (*.json)")
	out := fs.String("out", "", "output path without extension")
	root := fs.String("root", ".", "repository root, for the commit")
	capture := fs.String("capture", "", "capture the replay benchmark reads (mean frame size)")
	elapsed := fs.Duration("elapsed", 0, "wall time of the whole run, for the record")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rowsDir == "" || *out == "" {
		return errors.New("-rows and -out are required")
	}
	rows, err := readRows(*rowsDir)
	if err != nil {
		return err
	}
	in := inputs{rows: rows}
	if *capture != "" {
		in.frameBytes, err = meanFrameBytes(*capture)
		if err != nil {
			return err
		}
	}
	rep := Report{Meta: collectMeta(*root, time.Now()), Headlines: headlines(in),
		Cores: coresTable(in), Rows: rows}
	if *elapsed > 0 {
		rep.Meta.Elapsed = elapsed.Round(time.Second).String()
	}
	return write(*out, rep)
}

func readRows(dir string) (result.Set, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("list rows: %w", err)
	}
	sort.Strings(files)
	var all result.Set
	for _, f := range files {
		rows, err := result.Read(f)
		if err != nil {
			return nil, err
		}
		all = append(all, rows...)
	}
	return all, nil
}

func write(out string, rep Report) error {
	var md strings.Builder
	renderMarkdown(&md, rep)
	if err := os.WriteFile(out+".md", []byte(md.String()), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	if err := os.WriteFile(out+".json", append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
