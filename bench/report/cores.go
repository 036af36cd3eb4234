package main

import (
	"fmt"

	"github.com/softips/softips/bench/internal/result"
)

// The packet rates of a 10 Gbit/s link: about 1.5 Mpps at a typical mean
// frame size, 14.88 Mpps at minimum-size frames.
const (
	typicalPPS = 1.5e6
	linePPS    = 14.88e6
)

// CoreRow is the cores one stage needs at 10 Gbit/s, from its measured
// cost per packet on one core.
type CoreRow struct {
	Path     string  `json:"path"`
	Figure   string  `json:"figure"`
	NsPerPkt float64 `json:"ns_per_pkt"`
	Typical  float64 `json:"cores_at_1_5_mpps"`
	Line     float64 `json:"cores_at_14_88_mpps"`
}

func coreRow(path, figure string, ns float64) CoreRow {
	return CoreRow{Path: path, Figure: figure, NsPerPkt: ns, Typical: ns * typicalPPS / 1e9,
		Line: ns * linePPS / 1e9}
}

func coresTable(in inputs) []CoreRow {
	var out []CoreRow
	for _, n := range []int{1000, 100000} {
		for _, frame := range []string{"miss", "hit"} {
			if v, ok := in.xdp(n, frame); ok {
				out = append(out, coreRow("tag", fmt.Sprintf("XDP classifier, %s entries, %s",
					result.Thousands(n), frame), v))
			}
		}
	}
	if v, mode, ok := in.libpcap(1000, "miss"); ok {
		out = append(out, coreRow("tag (baseline)",
			fmt.Sprintf("libpcap %s, 1,000 entries, miss", mode), v))
	}
	gob := []struct{ key, path, label string }{
		{replayKey + "ns/op", "detection", "replay: decode, reassembly, 6 rules"},
		{"pkg/pipeline:BenchmarkDecodeReassemble:ns/op", "detection (part)",
			"decode and reassembly alone"},
		{"pkg/detect:BenchmarkInspect/rules=10000:ns/op", "detection (part)",
			"inspect, 10,000 rules, one 1,400-byte payload"},
	}
	for _, g := range gob {
		if v, ok := in.get("gobench", g.key); ok {
			out = append(out, coreRow(g.path, g.label, v))
		}
	}
	return out
}
