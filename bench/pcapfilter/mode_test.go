package main

import (
	"strings"
	"testing"

	"github.com/softips/softips/bench/internal/libpcap"
	"github.com/softips/softips/bench/workload"
	"github.com/softips/softips/pkg/flowspec"
)

func TestParseMode(t *testing.T) {
	for _, s := range []string{"full-opt", "full-noopt", "untagged-opt", "untagged-noopt"} {
		m, err := parseMode(s)
		if err != nil || m.String() != s {
			t.Errorf("parseMode(%q) = %v, %v", s, m, err)
		}
	}
	for _, s := range []string{"", "full", "opt-full", "tagged-opt"} {
		if _, err := parseMode(s); err == nil {
			t.Errorf("parseMode(%q) accepted", s)
		}
	}
}

// TestUntaggedPart checks that the extracted untagged filter is the
// rendering's first branch and still gives the frames their verdicts.
func TestUntaggedPart(t *testing.T) {
	specs := workload.Table(20, workload.Seed)
	u, err := mode{untagged: true}.render(specs)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, "tcp and (") || strings.Contains(u, "vlan") {
		t.Errorf("untagged part %.80q...", u)
	}
	full := flowspec.PcapFilterSet(specs)
	if len(u)*3 >= len(full) || !strings.HasPrefix(full, "("+u+")") {
		t.Errorf("untagged part is not the first third of %.80q...", full)
	}
	p, err := libpcap.Compile(u, snaplen, true)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Free()
	hit, _ := workload.HitFrame()
	miss, _ := workload.MissFrame()
	if n, _ := p.Run(hit, 1); n != 1 {
		t.Error("hit frame rejected by the untagged filter")
	}
	if n, _ := p.Run(miss, 1); n != 0 {
		t.Error("miss frame passed the untagged filter")
	}
}

func TestUntaggedPartRejectsOtherForms(t *testing.T) {
	for _, s := range []string{"", "tcp", "(a) or (vlan and ((b) or (vlan and (c))))"} {
		if _, err := untaggedPart(s); err == nil {
			t.Errorf("untaggedPart(%q) accepted", s)
		}
	}
}
