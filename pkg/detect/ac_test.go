package detect

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// naiveHits lists (pattern id, end offset) of every case-folded occurrence.
func naiveHits(pats [][]byte, text []byte) [][2]int {
	var out [][2]int
	ft := lower(text)
	for end := 1; end <= len(text); end++ {
		for id, p := range pats {
			if len(p) <= end && bytes.Equal(ft[end-len(p):end], lower(p)) {
				out = append(out, [2]int{id, end})
			}
		}
	}
	return out
}

func acHits(a *ahoCorasick, text []byte) [][2]int {
	var out [][2]int
	// scan reports ids in text order; recover end offsets by scanning prefixes
	for end := 1; end <= len(text); end++ {
		var ids []int
		a.scanFrom(text[:end], func(id int32) { ids = append(ids, int(id)) })
		slices.Sort(ids)
		for _, id := range ids {
			out = append(out, [2]int{id, end})
		}
	}
	return out
}

// scanFrom reports only the hits ending at the last byte of buf.
func (a *ahoCorasick) scanFrom(buf []byte, hit func(int32)) {
	n := 0
	a.scan(buf[:len(buf)-1], func(int32) { n++ })
	total := 0
	var last []int32
	a.scan(buf, func(id int32) {
		total++
		if total > n {
			last = append(last, id)
		}
	})
	for _, id := range last {
		hit(id)
	}
}

func TestAhoCorasickMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alpha := []byte("abAB\x00\xff")
	randBytes := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return b
	}
	for iter := range 300 {
		pats := make([][]byte, 1+rng.IntN(8))
		for i := range pats {
			pats[i] = lower(randBytes(1 + rng.IntN(4)))
		}
		text := randBytes(rng.IntN(40))
		for _, dense := range []bool{true, false} {
			a := newAhoCorasick(pats)
			if !dense {
				a.delta = nil
			}
			got, want := acHits(a, text), naiveHits(pats, text)
			slices.SortFunc(want, func(x, y [2]int) int {
				if x[1] != y[1] {
					return x[1] - y[1]
				}
				return x[0] - y[0]
			})
			if !slices.Equal(got, want) {
				t.Fatalf("iter %d dense=%v pats %q text %q:\n got  %v\n want %v",
					iter, dense, pats, text, got, want)
			}
		}
	}
}

func TestIndexFold(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alpha := []byte("aAbB1")
	for range 2000 {
		b := make([]byte, rng.IntN(20))
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		p := make([]byte, 1+rng.IntN(3))
		for i := range p {
			p[i] = alpha[rng.IntN(len(alpha))]
		}
		want := bytes.Index(lower(b), lower(p))
		if got := indexFold(b, lower(p), 0); got != want {
			t.Fatalf("indexFold(%q, %q) = %d, want %d", b, p, got, want)
		}
	}
}

// disablePrefilter makes every raw rule a candidate on every packet.
func disablePrefilter(e *Engine) {
	e.raw = prefilter{}
	e.full = prefilter{}
	for _, r := range e.rs.Rules {
		if r.bufMask&^1 == 0 {
			e.raw.always = append(e.raw.always, int32(r.idx))
		}
	}
}

// TestPrefilterNoFalseNegatives: random rules over a small alphabet on a
// random segmented stream alert exactly as without any prefilter.
func TestPrefilterNoFalseNegatives(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abAB"[rng.IntN(4)]
		}
		return string(b)
	}
	mods := []string{"", " nocase;", " distance:0; within:6;", " distance:1;", " depth:8;",
		" endswith;", " within:5;"}
	for iter := range 200 {
		var rules []string
		for i := range 6 {
			var opts string
			for j := range 1 + rng.IntN(3) {
				neg := ""
				if j > 0 && rng.IntN(4) == 0 {
					neg = "!"
				}
				m := mods[rng.IntN(len(mods))]
				if j == 0 && strings.Contains(m, "within") {
					m = ""
				}
				opts += fmt.Sprintf(`content:%s"%s";%s `, neg, word(1+rng.IntN(3)), m)
			}
			if rng.IntN(5) == 0 {
				opts += `pcre:"/a[bB]/"; `
			}
			proto := []string{"tcp", "tcp-pkt", "tcp-stream"}[rng.IntN(3)]
			rules = append(rules, fmt.Sprintf(`alert %s any any -> any any (%ssid:%d;)`,
				proto, opts, i+1))
		}
		rs, skipped, err := LoadReader("p", strings.NewReader(strings.Join(rules, "\n")), nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = skipped // invalid random combinations are fine to skip
		fast, slow := NewEngine(rs, Options{}), NewEngine(rs, Options{})
		disablePrefilter(slow)
		fsA, fsB := NewFlowState(), NewFlowState()
		var stream []byte
		for range 6 {
			seg := word(1 + rng.IntN(12))
			stream = append(stream, seg...)
			in := pkt(fsA, true, seg)
			in.Stream, in.NewData = stream, len(seg)
			a := sids(fast, in)
			in.Flow = fsB
			b := sids(slow, in)
			if !slices.Equal(a, b) {
				t.Fatalf("iter %d rules:\n%s\nstream %q seg %q: prefilter %v, none %v",
					iter, strings.Join(rules, "\n"), stream, seg, a, b)
			}
		}
	}
}
