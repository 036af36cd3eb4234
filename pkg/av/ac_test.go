package av

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestAutomatonAgainstNaive compares every anchor occurrence the automaton
// reports with a plain search, over random anchors from a small alphabet
// (many shared prefixes and suffixes) and enough of them to get dense and
// sparse nodes.
func TestAutomatonAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	rnd := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abcd"[rng.IntN(4)]
		}
		return b
	}
	seen := map[string]bool{}
	var anchors [][]byte
	for len(anchors) < 300 {
		a := rnd(2 + rng.IntN(7))
		if !seen[string(a)] {
			seen[string(a)] = true
			anchors = append(anchors, a)
		}
	}
	ac := buildAutomaton(anchors)
	text := rnd(20000)
	got := map[[2]int]bool{}
	s := int32(0)
	for i := 0; i < len(text); i += 777 { // state carries across calls
		p := text[i:min(i+777, len(text))]
		base := i
		s = ac.scan(s, p, func(id int32, end int) { got[[2]int{int(id), base + end}] = true })
	}
	want := 0
	for id, a := range anchors {
		for i := 0; i+len(a) <= len(text); i++ {
			if bytes.Equal(text[i:i+len(a)], a) {
				want++
				if !got[[2]int{id, i + len(a)}] {
					t.Fatalf("anchor %q at %d not reported", a, i)
				}
			}
		}
	}
	if len(got) != want {
		t.Fatalf("reported %d occurrences, want %d", len(got), want)
	}
}
