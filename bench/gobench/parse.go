package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Result is one benchmark line: "BenchmarkX/sub-2  100  123 ns/op  4 B/op".
type Result struct {
	Name   string             // without the "-GOMAXPROCS" suffix
	Iters  int                // b.N
	Values map[string]float64 // by unit: "ns/op", "B/op", "allocs/op", "MB/s", ...
	Order  []string           // units in the order printed
}

var procsSuffix = regexp.MustCompile(`-\d+$`)

// ParseLine reads one benchmark result line; ok is false for any other
// line. Value and unit come in pairs after the iteration count.
func ParseLine(line string) (Result, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
		return Result{}, false
	}
	iters, err := strconv.Atoi(f[1])
	if err != nil {
		return Result{}, false
	}
	r := Result{Name: procsSuffix.ReplaceAllString(f[0], ""), Iters: iters,
		Values: map[string]float64{}}
	for i := 2; i < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return Result{}, false
		}
		r.Values[f[i+1]] = v
		r.Order = append(r.Order, f[i+1])
	}
	return r, true
}

// testEvent is the part of a `go test -json` event this parser reads.
type testEvent struct {
	Action string
	Output string
}

// ParseJSON reads a `go test -json` stream and returns its benchmark
// results and every output line (for error reporting). go test prints a
// result's name and its figures in separate output events, so the text is
// joined before lines are split.
func ParseJSON(r io.Reader) ([]Result, []string, error) {
	var text strings.Builder
	dec := json.NewDecoder(r)
	for {
		var ev testEvent
		err := dec.Decode(&ev)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("decode go test -json: %w", err)
		}
		if ev.Action == "output" {
			text.WriteString(ev.Output)
		}
	}
	return ParseText(strings.NewReader(text.String()))
}

// ParseText reads plain `go test -bench` output.
func ParseText(r io.Reader) ([]Result, []string, error) {
	var out []Result
	var lines []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if res, ok := ParseLine(sc.Text()); ok {
			out = append(out, res)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("read benchmark output: %w", err)
	}
	return out, lines, nil
}
