package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/softips/softips/bench/internal/result"
)

// Headline is one goal of the issue, measured as a ratio against a
// baseline taken in the same run, with the absolute figures beside it.
type Headline struct {
	Name     string   `json:"name"`
	Goal     string   `json:"goal"`
	Ratio    *float64 `json:"ratio,omitempty"`
	RatioOf  string   `json:"ratio_of,omitempty"` // what the ratio divides
	Measured string   `json:"measured"`
	Baseline string   `json:"baseline"`
	Verdict  string   `json:"verdict"` // "meets", "MISSES" or "not yet available: ..."
	Note     string   `json:"note,omitempty"`
}

// The verdicts of a headline.
const (
	Meets  = "meets"
	Misses = "MISSES"
)

func missing(name, goal, why string) Headline {
	return Headline{Name: name, Goal: goal, Verdict: "not yet available: " + why}
}

func verdict(ok bool) string {
	if ok {
		return Meets
	}
	return Misses
}

func ptr(f float64) *float64 { return &f }

// inputs gathers what the headlines read from the rows.
type inputs struct {
	rows       result.Set
	frameBytes float64 // mean frame size of the replayed capture, 0 if unknown
}

func (in inputs) get(stage, key string) (float64, bool) { return in.rows.Value(stage, key) }

const kernelBench = "pkg/kernel:BenchmarkClassifier/"

// xdp returns the classifier's cost per frame at n entries: from
// bench/xdpbench (the libpcap benchmark's own table and frames) where it
// ran, else from pkg/kernel's BenchmarkClassifier (its own table).
func (in inputs) xdp(n int, frame string) (float64, bool) {
	if v, ok := in.get("xdpbench", fmt.Sprintf("entries=%d/%s", n, frame)); ok {
		return v, true
	}
	return in.get("gobench", fmt.Sprintf("%sentries=%d/%s:ns/pkt", kernelBench, n, frame))
}

func (in inputs) empty() (float64, bool) {
	if v, ok := in.get("xdpbench", "empty"); ok {
		return v, true
	}
	return in.get("gobench", kernelBench+"empty:ns/pkt")
}

// likeForLike reports whether the classifier figures come from the same
// table and frames as libpcap's.
func (in inputs) likeForLike() bool {
	_, ok := in.get("xdpbench", "entries=1000/miss")
	return ok
}

// libpcap returns the cost per frame of the first libpcap mode that
// compiled a table of n entries, and the mode's name.
func (in inputs) libpcap(n int, frame string) (float64, string, bool) {
	for _, m := range []string{"full-opt", "untagged-opt", "full-noopt", "untagged-noopt"} {
		if v, ok := in.get("pcapfilter", fmt.Sprintf("%s/%s/%d", frame, m, n)); ok {
			return v, m, true
		}
	}
	return 0, "", false
}

func headlines(in inputs) []Headline {
	return []Headline{
		in.classifierVsLibpcap(), in.classifierSpread(), in.overheadOverEmpty(),
		in.mirrorRate(), in.detection(), in.detectionAllocs(), in.resetTime(),
		in.challengeACKs(), in.memoryFlood(),
	}
}

func (in inputs) classifierVsLibpcap() Headline {
	const name, goal = "Classifier cost vs libpcap, 1,000 entries (miss frame)", "<= 0.10"
	lp, mode, okL := in.libpcap(1000, "miss")
	x, okX := in.xdp(1000, "miss")
	switch {
	case !okL:
		return missing(name, goal, "libpcap did not compile a 1,000-entry table "+
			"(see the libpcap table)")
	case !okX:
		return missing(name, goal, "no classifier figure at 1,000 entries (xdpbench or "+
			"pkg/kernel BenchmarkClassifier)")
	}
	r := x / lp
	h := Headline{Name: name, Goal: goal, Ratio: ptr(r), RatioOf: "XDP / libpcap",
		Measured: fmt.Sprintf("XDP %.1f ns/pkt", x),
		Baseline: fmt.Sprintf("libpcap (%s) %.0f ns/pkt", mode, lp), Verdict: verdict(r <= 0.10)}
	if mode != "full-opt" {
		h.Note = "libpcap ran the " + mode + " rendering: the full one (with VLAN branches) " +
			"did not compile, so the baseline is cheaper than the real job"
	}
	if !in.likeForLike() {
		h.Note = joinNotes(h.Note, "the kernel figure comes from pkg/kernel's own "+
			"benchmark table and frames, not bench/workload's")
	}
	return h
}

func (in inputs) classifierSpread() Headline {
	const name, goal = "Classifier cost spread, 10 to 100,000 entries (miss frame)", "<= 1.5x"
	lo, hi := math.Inf(1), 0.0
	var seen []string
	for _, n := range []int{10, 100, 1000, 10000, 100000} {
		if v, ok := in.xdp(n, "miss"); ok {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
			seen = append(seen, fmt.Sprintf("%d: %.1f", n, v))
		}
	}
	if len(seen) < 2 {
		return missing(name, goal, "fewer than two table sizes measured")
	}
	r := hi / lo
	h := Headline{Name: name, Goal: goal, Ratio: ptr(r), RatioOf: "slowest / fastest size",
		Measured: "ns/pkt by entries " + strings.Join(seen, ", "),
		Baseline: fmt.Sprintf("fastest %.1f ns/pkt", lo), Verdict: verdict(r <= 1.5)}
	if lp10, _, ok := in.libpcap(10, "miss"); ok {
		if lp, mode, ok := in.libpcap(1000, "miss"); ok {
			h.Note = fmt.Sprintf("libpcap (%s) over 10 to 1,000 entries: %.0fx", mode, lp/lp10)
		}
	}
	return h
}

func (in inputs) overheadOverEmpty() Headline {
	const name, goal = "Classifier overhead over an empty XDP program", "<= 60 ns"
	e, okE := in.empty()
	x, okX := in.xdp(1000, "miss")
	if !okE || !okX {
		return missing(name, goal, "needs an empty-program and a 1,000-entry figure")
	}
	d := x - e
	return Headline{Name: name, Goal: goal, Ratio: ptr(x / e), RatioOf: "classifier / empty",
		Measured: fmt.Sprintf("+%.1f ns (classifier %.1f ns/pkt at 1,000 entries)", d, x),
		Baseline: fmt.Sprintf("empty XDP program %.1f ns/pkt", e), Verdict: verdict(d <= 60)}
}

func (in inputs) mirrorRate() Headline {
	const name, goal = "Zero-drop mirror rate per consumer core", ">= 2 M records/s"
	if d, ok := in.get("xdpbench", "mirror/drain"); ok {
		h := Headline{Name: name, Goal: goal,
			Measured: fmt.Sprintf("%.1f M records/s drained by one consumer", d/1e6),
			Verdict:  verdict(d >= 2e6),
			Note: "the consumer only reads the records (kernel.ReadMirror); decoding " +
				"them is in the pipeline figures"}
		if p, ok := in.get("xdpbench", "mirror/produce"); ok && p > 0 {
			h.Ratio = ptr(d * p / 1e9)
			h.RatioOf = "drain rate / one XDP core's mirror production rate"
			h.Baseline = fmt.Sprintf("XDP with mirroring %.0f ns/pkt = %.1f M records/s",
				p, 1e3/p)
		}
		return h
	}
	for _, r := range in.rows {
		if r.Stage == "gobench" && r.Source == "pkg/kernel" && r.Status == result.OK &&
			(r.Unit == "records/s" || r.Unit == "rec/s") {
			return Headline{Name: name, Goal: goal, Ratio: ptr(r.Value / 2e6),
				RatioOf:  "rate / goal (no baseline of its own)",
				Measured: fmt.Sprintf("%.2f M records/s (%s)", r.Value/1e6, r.Label),
				Baseline: "goal 2 M records/s", Verdict: verdict(r.Value >= 2e6)}
		}
	}
	return missing(name, goal, "no mirror drain figure (xdpbench did not run, and no "+
		"pkg/kernel benchmark reports records/s)")
}

const replayKey = "pkg/replay:BenchmarkReplay/context=4096:"

func (in inputs) detection() Headline {
	const name, goal = "Detection throughput per core (replay, largest corpus capture)",
		">= 1 Gbit/s"
	ns, ok := in.get("gobench", replayKey+"ns/op")
	if !ok {
		return missing(name, goal, "no pkg/replay BenchmarkReplay/context=4096 figure")
	}
	if in.frameBytes == 0 {
		return missing(name, goal, "mean frame size of the replayed capture unknown "+
			"(corpus absent)")
	}
	gbps := in.frameBytes * 8 / ns
	h := Headline{Name: name, Goal: goal, Ratio: ptr(gbps), RatioOf: "Gbit/s / 1 Gbit/s goal",
		Measured: fmt.Sprintf("%.2f Gbit/s (%.0f ns/pkt, mean frame %.0f B)", gbps, ns,
			in.frameBytes),
		Verdict: verdict(gbps >= 1)}
	if base, ok := in.get("gobench", "pkg/pipeline:BenchmarkDecodeReassemble:ns/op"); ok {
		h.Ratio, h.RatioOf = ptr(ns/base), "replay / decode+reassembly alone"
		h.Baseline = fmt.Sprintf("decode+reassembly alone %.0f ns/pkt", base)
	}
	return h
}

func (in inputs) detectionAllocs() Headline {
	const name, goal = "Allocations per packet on the detection hot path", "0"
	a, ok := in.get("gobench", replayKey+"allocs/op")
	if !ok {
		return missing(name, goal, "no pkg/replay BenchmarkReplay allocs/op figure")
	}
	h := Headline{Name: name, Goal: goal, Measured: fmt.Sprintf("%g allocs/op", a),
		Baseline: "-", Verdict: verdict(a == 0)}
	if b, ok := in.get("gobench", replayKey+"B/op"); ok && b > 0 {
		h.Note = fmt.Sprintf("%g B/op: allocations rarer than one per packet, amortised", b)
	}
	return h
}

func (in inputs) resetTime() Headline {
	const name, goal = "Time to reset an interactive connection vs tcpkill", "<= 0.10"
	t, okT := in.get("reset", "tcpkill/interactive/median_ms")
	s, okS := in.get("reset", "softips/interactive/median_ms")
	switch {
	case !okT:
		return missing(name, goal, "no tcpkill baseline (see the reset table)")
	case !okS:
		return missing(name, goal, "softips reset not measured (see the reset table)")
	}
	return Headline{Name: name, Goal: goal, Ratio: ptr(s / t), RatioOf: "softips / tcpkill",
		Measured: fmt.Sprintf("softips median %.1f ms", s),
		Baseline: fmt.Sprintf("tcpkill median %.1f ms", t), Verdict: verdict(s/t <= 0.10)}
}

func (in inputs) challengeACKs() Headline {
	const name, goal = "Challenge ACKs provoked by softips RSTs", "0"
	s, okS := in.get("reset", "softips/all/challenge_acks")
	if !okS {
		return missing(name, goal, "softips reset not measured (see the reset table)")
	}
	h := Headline{Name: name, Goal: goal, Measured: fmt.Sprintf("%g", s), Baseline: "-",
		Verdict: verdict(s == 0)}
	if t, ok := in.get("reset", "tcpkill/all/challenge_acks"); ok {
		h.Baseline = fmt.Sprintf("tcpkill %g", t)
	}
	i, okI := in.get("reset", "softips/interactive/challenge_acks")
	b, okB := in.get("reset", "softips/bulk/challenge_acks")
	if okI && okB {
		h.Measured = fmt.Sprintf("%g (interactive %g, bulk %g)", s, i, b)
	}
	return h
}

func (in inputs) memoryFlood() Headline {
	const name, goal = "Memory under a flood of 1 M flows and 100,000 signals",
		"levels off (heap at 2x flood / at 1x <= 1.05), tables at their limits"
	fg, ok1 := in.get("memflood", "flows/heap_growth")
	sg, ok2 := in.get("memflood", "signals/heap_growth")
	fh, ok3 := in.get("memflood", "flows/heap_mib@1000000")
	sh, ok4 := in.get("memflood", "signals/heap_mib@100000")
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return missing(name, goal, "memory-flood stage did not run (see its rows)")
	}
	within := in.notOver("flows/active", "flows/max_flows") &&
		in.notOver("signals/tracked", "signals/max_tracked") &&
		in.notOver("signals/table_entries", "signals/max_entries")
	worst := max(fg, sg)
	h := Headline{Name: name, Goal: goal, Ratio: ptr(worst),
		RatioOf:  "heap after 2x the flood / after the flood (worse of the two)",
		Measured: fmt.Sprintf("heap +%.0f MiB (flows), +%.0f MiB (signals)", fh, sh),
		Baseline: fmt.Sprintf("growth x%.2f (flows), x%.2f (signals)", fg, sg),
		Verdict:  verdict(worst <= 1.05 && within)}
	if !within {
		h.Note = "a table holds more than its configured limit (see the memory rows)"
	}
	return h
}

// notOver reports whether the value of key is at most that of limit.
func (in inputs) notOver(key, limit string) bool {
	v, ok := in.get("memflood", key)
	l, okL := in.get("memflood", limit)
	return ok && okL && v <= l
}

func joinNotes(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
