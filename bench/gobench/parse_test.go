package main

import (
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	cases := []struct {
		line  string
		ok    bool
		name  string
		iters int
		vals  map[string]float64
	}{
		{"BenchmarkClassifier/entries=1000/miss-2   \t  38\t  31012345 ns/op\t  52.10 ns/pkt",
			true, "BenchmarkClassifier/entries=1000/miss", 38,
			map[string]float64{"ns/op": 31012345, "ns/pkt": 52.10}},
		{"BenchmarkInspect/rules=100-2  1000  1200 ns/op  1166.67 MB/s  0 B/op  0 allocs/op",
			true, "BenchmarkInspect/rules=100", 1000,
			map[string]float64{"ns/op": 1200, "MB/s": 1166.67, "B/op": 0, "allocs/op": 0}},
		{"BenchmarkX 5 3 ns/op", true, "BenchmarkX", 5, map[string]float64{"ns/op": 3}},
		{"--- FAIL: BenchmarkX", false, "", 0, nil},
		{"BenchmarkX-2 abc 3 ns/op", false, "", 0, nil},
		{"BenchmarkX-2 5 3 ns/op extra", false, "", 0, nil},
		{"BenchmarkX-2 5 three ns/op", false, "", 0, nil},
		{"ok  github.com/x 1.2s", false, "", 0, nil},
	}
	for _, c := range cases {
		r, ok := ParseLine(c.line)
		if ok != c.ok {
			t.Errorf("ParseLine(%q) ok = %v, want %v", c.line, ok, c.ok)
			continue
		}
		if !ok {
			continue
		}
		if r.Name != c.name || r.Iters != c.iters || len(r.Values) != len(c.vals) {
			t.Errorf("ParseLine(%q) = %+v", c.line, r)
		}
		for u, v := range c.vals {
			if r.Values[u] != v {
				t.Errorf("ParseLine(%q)[%s] = %v, want %v", c.line, u, r.Values[u], v)
			}
		}
	}
}

// TestParseJSONJoinsSplitOutput: go test -json emits a benchmark's name and
// its figures as two output events.
func TestParseJSONJoinsSplitOutput(t *testing.T) {
	stream := `{"Action":"start","Package":"p"}
{"Action":"output","Package":"p","Output":"goos: linux\n"}
{"Action":"output","Package":"p","Output":"BenchmarkDecode-2   \t"}
{"Action":"output","Package":"p","Output":"  100\t  45.5 ns/op\t  0 B/op\t  0 allocs/op\n"}
{"Action":"output","Package":"p","Output":"PASS\n"}
{"Action":"pass","Package":"p"}
`
	rs, lines, err := ParseJSON(strings.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Name != "BenchmarkDecode" || rs[0].Values["ns/op"] != 45.5 {
		t.Fatalf("got %+v", rs)
	}
	if len(lines) != 3 {
		t.Errorf("lines = %q", lines)
	}
	if _, _, err := ParseJSON(strings.NewReader("{not json")); err == nil {
		t.Error("bad stream accepted")
	}
}
