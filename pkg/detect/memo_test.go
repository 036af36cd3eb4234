package detect

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// streamFeed plays chunks of one direction as a reassembler would: each
// packet's Stream is up to ctx earlier bytes plus the chunk. With offsets
// it sets StreamEnd, so the engine may scan only the new bytes.
type streamFeed struct {
	e       *Engine
	fs      *FlowState
	all     [2][]byte
	ctx     int
	offsets bool
}

func (f *streamFeed) send(toServer bool, chunk string) []uint32 {
	d := 0
	if !toServer {
		d = 1
	}
	f.all[d] = append(f.all[d], chunk...)
	all := f.all[d]
	in := pkt(f.fs, toServer, chunk)
	in.Stream = all[max(0, len(all)-len(chunk)-f.ctx):]
	in.NewData = len(chunk)
	if f.offsets {
		in.StreamEnd = uint64(len(all))
	}
	return sids(f.e, in)
}

// TestPrefilterStraddle checks that the narrowed prefilters (content
// rules scan the new bytes and a pattern's length before them; pcre rules
// also remember earlier hits of the flow) find what a scan of the whole
// window finds, in particular a pattern straddling old context and new
// data.
func TestPrefilterStraddle(t *testing.T) {
	tests := []struct {
		name   string
		rule   string
		ctx    int
		chunks []string
		want   [][]uint32 // sids per chunk
	}{
		{"content straddles", `content:"abcdef";`, 64,
			[]string{"xxabc", "defyy"}, [][]uint32{nil, {1}}},
		{"content in old context only", `content:"abcdef";`, 64,
			[]string{"xxabcdef", "yy"}, [][]uint32{{1}, nil}},
		{"pcre fast pattern straddles", `content:"abcdef"; pcre:"/def[0-9]/";`, 64,
			[]string{"xxabc", "def1"}, [][]uint32{nil, {1}}},
		{"pcre fast pattern in an earlier packet", `content:"marker"; ` +
			`pcre:"/marker[a-z]*Z/";`, 64,
			[]string{"marker", "aaa", "bbZ"}, [][]uint32{nil, nil, {1}}},
		{"pcre fast pattern slid out of the window", `content:"marker"; ` +
			`pcre:"/marker[a-z]*Z/";`, 8,
			[]string{"marker", "aaaaaaaaaa", "Z"}, [][]uint32{nil, nil, nil}},
		{"pcre fast pattern at the window start", `content:"marker"; ` +
			`pcre:"/marker[a-z]*Z/";`, 9,
			[]string{"xmarker", "aaa", "Z"}, [][]uint32{nil, nil, {1}}},
		// A content longer than the prefilter's 32 bytes that ends in the
		// first bytes of new data: its first 32 bytes lie wholly before the
		// look-back, so the prefilter must key on its last 32.
		{"long content ends one byte into new data",
			`content:"0123456789abcdefghijklmnopqrstuvwxyzABCD";`, 64,
			[]string{"xx0123456789abcdefghijklmnopqrstuvwxyzABC", "Dyy"},
			[][]uint32{nil, {1}}},
	}
	for _, tt := range tests {
		for _, offsets := range []bool{false, true} {
			e := newTestEngine(t, `alert tcp any any -> any any (msg:"t"; `+tt.rule+` sid:1;)`)
			f := &streamFeed{e: e, fs: NewFlowState(), ctx: tt.ctx, offsets: offsets}
			for i, c := range tt.chunks {
				if got := f.send(true, c); !slices.Equal(got, tt.want[i]) {
					t.Errorf("%s (offsets %v) chunk %d %q: sids %v, want %v",
						tt.name, offsets, i, c, got, tt.want[i])
				}
			}
		}
	}
}

// TestPrefilterMemoMatchesFullScan feeds random streams in both directions
// to two engines over the same rules, one given stream offsets (scanning
// only new bytes) and one not (scanning whole windows), with occasional
// discontinuities, and demands the same alerts on every packet.
func TestPrefilterMemoMatchesFullScan(t *testing.T) {
	rules := []string{
		`alert tcp any any -> any any (msg:"a"; content:"ab0"; pcre:"/0[ab]*Z/"; sid:1;)`,
		`alert tcp any any -> any any (msg:"b"; content:"Zb"; nocase; pcre:"/b1/"; sid:2;)`,
		`alert tcp any any -> any any (msg:"c"; content:"1a"; pcre:"/a.b/R"; sid:3;)`,
		`alert tcp any any -> any any (msg:"d"; content:"b0b"; sid:4;)`,
		`alert tcp any any -> any any (msg:"e"; content:"a"; content:"Z1"; pcre:"/Z1$/"; ` +
			`sid:5;)`,
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const alpha = "abzZ01"
	for round := range 200 {
		fast := &streamFeed{e: newTestEngine(t, rules...), fs: NewFlowState(),
			ctx: 4 + rng.IntN(20), offsets: true}
		slow := &streamFeed{e: newTestEngine(t, rules...), fs: NewFlowState(), ctx: fast.ctx}
		for i := range 30 {
			b := make([]byte, 1+rng.IntN(10))
			for j := range b {
				b[j] = alpha[rng.IntN(len(alpha))]
			}
			toServer := rng.IntN(3) > 0
			if rng.IntN(15) == 0 { // a discontinuity: bytes skipped
				fast.all[0] = append(fast.all[0], "\x00\x00\x00"...)
				slow.all[0] = append(slow.all[0], "\x00\x00\x00"...)
			}
			got, want := fast.send(toServer, string(b)), slow.send(toServer, string(b))
			if !slices.Equal(got, want) {
				t.Fatalf("round %d packet %d %q: sids %v with offsets, %v without",
					round, i, b, got, want)
			}
		}
	}
}
