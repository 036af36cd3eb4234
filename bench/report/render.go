package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/softips/softips/bench/internal/result"
)

// Report is the whole output of one run, as written to <name>.json.
type Report struct {
	Meta      Meta       `json:"meta"`
	Headlines []Headline `json:"headlines"`
	Cores     []CoreRow  `json:"cores_for_10gbit"`
	Rows      result.Set `json:"rows"`
}

func renderMarkdown(w io.Writer, r Report) {
	m := r.Meta
	fmt.Fprintf(w, "# softips benchmark results\n\n")
	fmt.Fprintf(w, "| date | commit | kernel | CPU | cores | Go | load avg |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(w, "| %s | %s | %s | %s | %d | %s | %s |\n\n", m.Date, m.Commit, m.Kernel,
		m.CPU, m.Cores, m.GoVersion, m.LoadAvg)
	renderHeadlines(w, r.Headlines)
	renderCores(w, r.Cores)
	renderLibpcap(w, r.Rows)
	renderStage(w, r.Rows, "xdpbench",
		"XDP classifier on the libpcap benchmark's table and frames (BPF_PROG_TEST_RUN)")
	renderGobench(w, r.Rows)
	renderStage(w, r.Rows, "reset", "Time to reset a connection (lab)")
	renderStage(w, r.Rows, "memflood", "Memory under flood")
}

func renderHeadlines(w io.Writer, hs []Headline) {
	fmt.Fprintf(w, "## Headline figures\n\nEach ratio divides two figures measured in "+
		"this run.\n\n")
	fmt.Fprintf(w, "| figure | goal | ratio | measured | baseline | verdict |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|\n")
	var notes []string
	for i, h := range hs {
		ratio := "-"
		if h.Ratio != nil {
			ratio = fmt.Sprintf("%.3g (%s)", *h.Ratio, h.RatioOf)
		}
		v := h.Verdict
		if v == Misses {
			v = "**MISSES**"
		}
		if h.Note != "" {
			notes = append(notes, fmt.Sprintf("%d. %s: %s", i+1, h.Name, h.Note))
			v += fmt.Sprintf(" (note %d)", i+1)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", h.Name, h.Goal, ratio,
			dash(h.Measured), dash(h.Baseline), v)
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\nNotes:\n\n%s\n", strings.Join(notes, "\n"))
	}
	fmt.Fprintln(w)
	renderMisses(w, hs)
}

// renderMisses says plainly which goals this run missed or could not
// measure.
func renderMisses(w io.Writer, hs []Headline) {
	var miss, absent []string
	for _, h := range hs {
		switch {
		case h.Verdict == Misses:
			miss = append(miss, fmt.Sprintf("- **%s**: goal %s, measured %s.", h.Name,
				h.Goal, h.Measured))
		case h.Verdict != Meets:
			absent = append(absent, fmt.Sprintf("- %s: %s.", h.Name, h.Verdict))
		}
	}
	fmt.Fprintf(w, "### Goals missed in this run\n\n")
	if len(miss) == 0 {
		miss = []string{"None."}
	}
	fmt.Fprintf(w, "%s\n\n", strings.Join(miss, "\n"))
	if len(absent) > 0 {
		fmt.Fprintf(w, "### Goals not measured in this run\n\n%s\n\n",
			strings.Join(absent, "\n"))
	}
}

func renderCores(w io.Writer, cs []CoreRow) {
	fmt.Fprintf(w, "## Cores for 10 Gbit/s\n\nFrom the cost per packet on one core: "+
		"1.5 Mpps (10 Gbit/s at a mean frame of ~830 B) and 14.88 Mpps (minimum-size "+
		"frames).\n\n")
	if len(cs) == 0 {
		fmt.Fprintf(w, "No per-packet figure measured yet.\n\n")
		return
	}
	fmt.Fprintf(w, "| path | measured figure | ns/pkt | cores at 1.5 Mpps | "+
		"cores at 14.88 Mpps |\n|---|---|---|---|---|\n")
	for _, c := range cs {
		fmt.Fprintf(w, "| %s | %s | %.1f | %.3g | %.3g |\n", c.Path, c.Figure, c.NsPerPkt,
			c.Typical, c.Line)
	}
	fmt.Fprintln(w)
}

// renderLibpcap lays the pcapfilter rows out as one line per mode and size.
func renderLibpcap(w io.Writer, rows result.Set) {
	type line struct {
		mode string
		n    int
	}
	var lines []line
	seen := map[line]bool{}
	for _, r := range rows {
		if r.Stage != "pcapfilter" {
			continue
		}
		parts := strings.Split(r.Key, "/")
		if len(parts) == 3 && !seen[line{parts[1], r.N}] {
			seen[line{parts[1], r.N}] = true
			lines = append(lines, line{parts[1], r.N})
		}
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(w, "## libpcap as a block-table matcher\n\n")
	fmt.Fprintf(w, "| rendering | entries | compile s (CPU s) | peak MiB | cBPF insns | "+
		"hit ns/pkt | miss ns/pkt | add one entry s |\n|---|---|---|---|---|---|---|---|\n")
	var notes []string
	for _, l := range lines {
		get := func(metric string, format string) string {
			r, _ := rows.Find("pcapfilter", fmt.Sprintf("%s/%s/%d", metric, l.mode, l.n))
			return cell(r, format, &notes)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", l.mode, result.Thousands(l.n),
			get("compile", "%.3g"), get("peak", "%.0f"), get("insns", "%.0f"),
			get("hit", "%.0f"), get("miss", "%.0f"), get("add", "%.3g"))
	}
	renderNotes(w, notes)
}

// cell formats a row's value, or its status with a numbered note.
func cell(r result.Row, format string, notes *[]string) string {
	if r.Key == "" {
		return "-"
	}
	if r.Status == result.OK {
		s := fmt.Sprintf(format, r.Value)
		if cpu, ok := strings.CutSuffix(strings.Split(r.Extra, ";")[0], " s CPU"); ok &&
			r.Unit == "s" {
			s += " (" + cpu + ")"
		}
		if r.Note != "" {
			s += " " + noteRef(notes, r.Note)
		}
		return s
	}
	return string(r.Status) + " " + noteRef(notes, r.Note)
}

// noteRef numbers a note, reusing the number of an identical one.
func noteRef(notes *[]string, note string) string {
	for i, n := range *notes {
		if n == note {
			return fmt.Sprintf("[%d]", i+1)
		}
	}
	*notes = append(*notes, note)
	return fmt.Sprintf("[%d]", len(*notes))
}

func renderNotes(w io.Writer, notes []string) {
	if len(notes) > 0 {
		fmt.Fprintln(w)
		for i, n := range notes {
			fmt.Fprintf(w, "[%d] %s  \n", i+1, n)
		}
	}
	fmt.Fprintln(w)
}

func renderStage(w io.Writer, rows result.Set, stage, title string) {
	var sel []result.Row
	for _, r := range rows {
		if r.Stage == stage {
			sel = append(sel, r)
		}
	}
	fmt.Fprintf(w, "## %s\n\n", title)
	if len(sel) == 0 {
		fmt.Fprintf(w, "Stage did not run.\n\n")
		return
	}
	sort.SliceStable(sel, func(i, j int) bool { return sel[i].Status < sel[j].Status })
	fmt.Fprintf(w, "| figure | value | unit | detail |\n|---|---|---|---|\n")
	for _, r := range sel {
		val := string(r.Status)
		if r.Status == result.OK {
			val = num(r.Value)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r.Label, val, r.Unit,
			strings.TrimSpace(r.Extra+" "+r.Note))
	}
	fmt.Fprintln(w)
}

// renderGobench puts one benchmark on one line, its figures in columns.
func renderGobench(w io.Writer, rows result.Set) {
	fmt.Fprintf(w, "## Benchmarks beside the code (go test -bench)\n\n")
	type bench struct {
		name   string
		vals   map[string]string
		others []string
	}
	var order []string
	byName := map[string]*bench{}
	var skipped []result.Row
	for _, r := range rows {
		if r.Stage != "gobench" {
			continue
		}
		if r.Status != result.OK {
			skipped = append(skipped, r)
			continue
		}
		b := byName[r.Label]
		if b == nil {
			b = &bench{name: r.Label, vals: map[string]string{}}
			byName[r.Label] = b
			order = append(order, r.Label)
		}
		v := num(r.Value)
		switch r.Unit {
		case "ns/op", "B/op", "allocs/op":
			b.vals[r.Unit] = v
		default:
			b.others = append(b.others, v+" "+r.Unit)
		}
	}
	if len(order) > 0 {
		fmt.Fprintf(w, "| benchmark | ns/op | B/op | allocs/op | other |\n|---|---|---|---|---|\n")
		for _, name := range order {
			b := byName[name]
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", name, dash(b.vals["ns/op"]),
				dash(b.vals["B/op"]), dash(b.vals["allocs/op"]),
				dash(strings.Join(b.others, ", ")))
		}
		fmt.Fprintln(w)
	}
	for _, r := range skipped {
		fmt.Fprintf(w, "- %s: %s: %s\n", r.Label, r.Status, r.Note)
	}
	fmt.Fprintln(w)
}

// num prints a figure to about four significant digits, without an
// exponent: 8882230 -> "8,882,230", 45.51 -> "45.51".
func num(v float64) string {
	if v >= 1000 || v <= -1000 {
		return result.Thousands(int(math.Round(v)))
	}
	return fmt.Sprintf("%.4g", v)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
