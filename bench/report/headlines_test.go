package main

import (
	"strings"
	"testing"

	"github.com/softips/softips/bench/internal/result"
)

func ok(stage, key string, v float64) result.Row {
	return result.Row{Stage: stage, Key: key, Value: v, Status: result.OK}
}

func TestClassifierHeadlines(t *testing.T) {
	in := inputs{rows: result.Set{
		ok("pcapfilter", "miss/untagged-opt/1000", 9000),
		ok("pcapfilter", "miss/full-opt/10", 100),
		{Stage: "pcapfilter", Key: "miss/full-opt/1000", Status: result.Failed},
		ok("xdpbench", "entries=10/miss", 300),
		ok("xdpbench", "entries=1000/miss", 450),
		ok("xdpbench", "empty", 10),
	}}
	cases := []struct {
		h       Headline
		ratio   float64
		verdict string
	}{
		{in.classifierVsLibpcap(), 0.05, Meets},
		{in.classifierSpread(), 1.5, Meets},
		{in.overheadOverEmpty(), 45, Misses},
	}
	for _, c := range cases {
		if c.h.Ratio == nil || *c.h.Ratio != c.ratio || c.h.Verdict != c.verdict {
			t.Errorf("%s: ratio %v verdict %q, want %v %q", c.h.Name, c.h.Ratio,
				c.h.Verdict, c.ratio, c.verdict)
		}
	}
	if n := in.classifierVsLibpcap().Note; !strings.Contains(n, "untagged-opt") {
		t.Errorf("fallback to the untagged rendering not noted: %q", n)
	}
}

func TestHeadlinesSayWhatIsMissing(t *testing.T) {
	for _, h := range headlines(inputs{}) {
		if !strings.HasPrefix(h.Verdict, "not yet available: ") || h.Ratio != nil {
			t.Errorf("%s with no rows: verdict %q", h.Name, h.Verdict)
		}
	}
}

func TestResetAndFloodHeadlines(t *testing.T) {
	in := inputs{rows: result.Set{
		ok("reset", "tcpkill/interactive/median_ms", 500),
		ok("reset", "softips/interactive/median_ms", 1),
		ok("reset", "softips/all/challenge_acks", 2),
		ok("memflood", "flows/heap_growth", 1.0),
		ok("memflood", "signals/heap_growth", 1.2),
		ok("memflood", "flows/heap_mib@1000000", 50),
		ok("memflood", "signals/heap_mib@100000", 53),
		ok("memflood", "flows/active", 10), ok("memflood", "flows/max_flows", 10),
		ok("memflood", "signals/tracked", 5), ok("memflood", "signals/max_tracked", 5),
		ok("memflood", "signals/table_entries", 5), ok("memflood", "signals/max_entries", 9),
	}}
	if h := in.resetTime(); *h.Ratio != 0.002 || h.Verdict != Meets {
		t.Errorf("reset: %+v", h)
	}
	if h := in.challengeACKs(); h.Verdict != Misses {
		t.Errorf("2 challenge ACKs: verdict %q", h.Verdict)
	}
	if h := in.memoryFlood(); *h.Ratio != 1.2 || h.Verdict != Misses {
		t.Errorf("flood growing by 1.2: %+v", h)
	}
}

func TestMirrorHeadline(t *testing.T) {
	in := inputs{rows: result.Set{ok("xdpbench", "mirror/drain", 15e6),
		ok("xdpbench", "mirror/produce", 150)}}
	h := in.mirrorRate()
	if h.Verdict != Meets || h.Ratio == nil || *h.Ratio != 2.25 {
		t.Errorf("15 M/s drain against 150 ns production: %+v", h)
	}
	in = inputs{rows: result.Set{ok("xdpbench", "mirror/drain", 1e6)}}
	if h := in.mirrorRate(); h.Verdict != Misses {
		t.Errorf("1 M/s drain: verdict %q", h.Verdict)
	}
}

func TestCoresArithmetic(t *testing.T) {
	c := coreRow("tag", "x", 500)
	if c.Typical != 0.75 || c.Line != 7.44 {
		t.Errorf("500 ns/pkt: %v cores at 1.5 Mpps, %v at 14.88 Mpps", c.Typical, c.Line)
	}
}
