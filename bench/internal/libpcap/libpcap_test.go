package libpcap

import (
	"errors"
	"strings"
	"testing"

	"github.com/softips/softips/bench/workload"
	"github.com/softips/softips/pkg/flowspec"
)

// TestCompileAndRun compiles filters with the optimizer on and off and runs
// the benchmark's hit and miss frames through them.
func TestCompileAndRun(t *testing.T) {
	hit, err := workload.HitFrame()
	if err != nil {
		t.Fatal(err)
	}
	miss, err := workload.MissFrame()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		expr              string
		wantHit, wantMiss int
	}{
		{workload.HitSpec.PcapFilter(), 7, 0},
		{flowspec.PcapFilterSet(workload.Table(50, workload.Seed)), 7, 0},
		{"tcp port 443", 7, 7},
		{"udp", 0, 0},
	}
	for _, c := range cases {
		for _, opt := range []bool{true, false} {
			p, err := Compile(c.expr, 262144, opt)
			if err != nil {
				t.Fatalf("compile %.60q (optimize %v): %v", c.expr, opt, err)
			}
			if p.Len() < 2 {
				t.Errorf("%.60q: %d instructions", c.expr, p.Len())
			}
			if n, _ := p.Run(hit, 7); n != c.wantHit {
				t.Errorf("%.60q opt %v: hit passed %d of 7, want %d", c.expr, opt, n, c.wantHit)
			}
			if n, _ := p.Run(miss, 7); n != c.wantMiss {
				t.Errorf("%.60q opt %v: miss passed %d of 7, want %d", c.expr, opt, n,
					c.wantMiss)
			}
			p.Free()
			if _, err := p.Run(hit, 1); !errors.Is(err, ErrClosed) {
				t.Errorf("Run after Free: %v, want ErrClosed", err)
			}
		}
	}
}

func TestCompileErrorSaysWhy(t *testing.T) {
	_, err := Compile("tcp and and", 262144, true)
	if err == nil || !strings.Contains(err.Error(), "syntax error") {
		t.Errorf("got %v, want a syntax error", err)
	}
}
