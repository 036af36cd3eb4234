package detect

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// linearEngine builds an engine over rules that evaluates every rule on
// every packet, the reference for the prefilters.
func linearEngine(t *testing.T, rules ...string) *Engine {
	e := newTestEngine(t, rules...)
	e.raw.always = e.raw.always[:0]
	for i := range e.rs.Rules {
		e.raw.always = append(e.raw.always, int32(i))
	}
	e.raw.ac, e.full.ac = nil, nil
	return e
}

// TestRawNeedMatchesLinear checks that dropping content rules whose
// longest content is absent from the stream window (known from the new
// bytes and the flow's memo, or from a whole-window scan) changes no
// alert: random streams go to an engine with offsets, one without, and
// one evaluating every rule, with discontinuities and small windows.
func TestRawNeedMatchesLinear(t *testing.T) {
	rules := []string{
		`alert tcp any any -> any any (msg:"a"; content:"ab0b"; content:"z"; sid:1;)`,
		`alert tcp any any -> any any (msg:"b"; content:"Zb1"; nocase; ` +
			`content:"a"; distance:0; within:6; sid:2;)`,
		`alert tcp any any -> any any (msg:"c"; content:"1a"; content:"0zz0"; sid:3;)`,
		`alert tcp any any -> any any (msg:"d"; content:"b"; content:"a1Z"; ` +
			`distance:1; sid:4;)`,
		`alert tcp any any -> any any (msg:"e"; content:"ZZ"; content:"ba"; ` +
			`content:"0a1b"; nocase; sid:5;)`,
		`alert tcp any any -> any any (msg:"f"; content:"zb"; ` +
			`content:!"a0a0"; sid:6;)`,
		`alert tcp any any -> any any (msg:"g"; content:"Z0"; offset:2; ` +
			`content:"bzb"; sid:7;)`,
	}
	rng := rand.New(rand.NewPCG(3, 4))
	const alpha = "abzZ01"
	for round := range 300 {
		ctx := 2 + rng.IntN(90) // past 31 bytes the memo is needed
		feeds := []*streamFeed{
			{e: newTestEngine(t, rules...), fs: NewFlowState(), ctx: ctx, offsets: true},
			{e: newTestEngine(t, rules...), fs: NewFlowState(), ctx: ctx},
			{e: linearEngine(t, rules...), fs: NewFlowState(), ctx: ctx},
		}
		for i := range 40 {
			b := make([]byte, 1+rng.IntN(8))
			for j := range b {
				b[j] = alpha[rng.IntN(len(alpha))]
			}
			toServer := rng.IntN(3) > 0
			gap := rng.IntN(15) == 0 // a discontinuity: bytes skipped
			got := make([][]uint32, len(feeds))
			for k, f := range feeds {
				if gap {
					f.all[0] = append(f.all[0], "\x00\x00\x00"...)
				}
				got[k] = f.send(toServer, string(b))
			}
			want := got[len(got)-1]
			for k := range got[:len(got)-1] {
				if !slices.Equal(got[k], want) {
					t.Fatalf("round %d packet %d %q: engine %d sids %v, linear %v",
						round, i, b, k, got[k], want)
				}
			}
		}
	}
}
