package detect

import (
	"bytes"
	"math/rand/v2"
	"slices"
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
