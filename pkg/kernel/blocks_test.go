package kernel

import (
	"encoding/json"
	"errors"
	"net/netip"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/softips/softips/pkg/flowspec"
)

// blockIDs reads the blocks map straight from the kernel: spec key -> id.
func blockIDs(t *testing.T, c *Classifier) map[bpfSoftipsBlockKey]uint64 {
	t.Helper()
	out := make(map[bpfSoftipsBlockKey]uint64)
	var k bpfSoftipsBlockKey
	var v bpfSoftipsBlockVal
	it := c.objs.Blocks.Iterate()
	for it.Next(&k, &v) {
		out[k] = v.EntryId
	}
	if err := it.Err(); err != nil {
		t.Fatalf("iterate blocks: %v", err)
	}
	return out
}

func shapeCount(t *testing.T, c *Classifier) int {
	t.Helper()
	n, err := c.Shapes()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSetBlocksDiff walks the block table through add, replace and remove
// and checks the kernel maps after each step.
func TestSetBlocksDiff(t *testing.T) {
	c := load(t, Options{RateBurst: 1000})
	a := flowspec.MustParse("0.0.0.0/0 0 198.51.100.20/32 443")
	b := flowspec.MustParse("203.0.113.0/24 0 198.51.100.30/32 0")
	d := flowspec.MustParse("198.51.100.7/32 0 0.0.0.0/0 0")
	steps := []struct {
		name    string
		entries []Entry
		shapes  int
	}{
		{"add three", []Entry{{1, a}, {2, b}, {3, d}}, 3},
		{"same again", []Entry{{1, a}, {2, b}, {3, d}}, 3},
		{"replace id of a", []Entry{{10, a}, {2, b}, {3, d}}, 3},
		{"remove b", []Entry{{10, a}, {3, d}}, 2},
		{"add b back, drop d", []Entry{{10, a}, {2, b}}, 2},
		{"empty", nil, 0},
	}
	for _, st := range steps {
		if err := c.SetBlocks(st.entries); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got := blockIDs(t, c)
		if len(got) != len(st.entries) {
			t.Errorf("%s: %d keys in the map, want %d", st.name, len(got), len(st.entries))
		}
		for _, e := range st.entries {
			if id := got[keyOf(e.Spec)]; id != e.ID {
				t.Errorf("%s: %q has id %d, want %d", st.name, e.Spec, id, e.ID)
			}
		}
		if n := shapeCount(t, c); n != st.shapes {
			t.Errorf("%s: %d shapes, want %d", st.name, n, st.shapes)
		}
		if bits, want := addrBitsSet(t, c), fixedSides(st.entries); bits != want {
			t.Errorf("%s: %d filter bits set, want %d", st.name, bits, want)
		}
		checkMatch(t, c, st.name, st.entries, a)
	}
}

// checkMatch sends P and checks it matches exactly when spec is installed,
// with that entry's id.
func checkMatch(t *testing.T, c *Classifier, step string, es []Entry, spec flowspec.Spec) {
	t.Helper()
	var want uint64
	for _, e := range es {
		if e.Spec == spec {
			want = e.ID
		}
	}
	run(t, c, cToS().bytes(t))
	reqs := drainInjects(t, c)
	switch {
	case want == 0 && len(reqs) != 0:
		t.Errorf("%s: P matched entry %d with %q absent", step, reqs[0].EntryID, spec)
	case want != 0 && (len(reqs) != 1 || reqs[0].EntryID != want):
		t.Errorf("%s: P gave requests %+v, want one for entry %d", step, reqs, want)
	}
}

// TestSetBlocksRejects: bad tables are refused whole, leaving the maps as
// they were.
func TestSetBlocksRejects(t *testing.T) {
	c := load(t, Options{})
	setBlocks(t, c, "0.0.0.0/0 0 198.51.100.20/32 443")
	var tooMany []Entry // one shape per destination prefix length 0..32
	src := netip.MustParsePrefix("198.51.100.0/24")
	for i := range MaxShapes + 1 {
		dst := netip.PrefixFrom(netip.MustParseAddr("203.0.113.9"), i).Masked()
		sp := flowspec.Spec{Src: src, Dst: dst, DstPort: 80}
		tooMany = append(tooMany, Entry{ID: uint64(i + 1), Spec: sp})
	}
	dup := flowspec.MustParse("198.51.100.7/32 0 0.0.0.0/0 0")
	cases := []struct {
		name    string
		entries []Entry
		want    error
	}{
		{"duplicate spec", []Entry{{1, dup}, {2, dup}}, ErrDuplicateSpec},
		{"too many shapes", tooMany, ErrTooManyShapes},
		{"all wildcard", []Entry{{1, flowspec.Spec{}}}, nil},
	}
	for _, tc := range cases {
		err := c.SetBlocks(tc.entries)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
		if n := len(blockIDs(t, c)); n != 1 || shapeCount(t, c) != 1 {
			t.Errorf("%s: table changed by a refused update (%d keys)", tc.name, n)
		}
	}
}

// TestHits: both directions credit the entry, and the last hit time lies
// between the wall clock before and after the run.
func TestHits(t *testing.T) {
	c := load(t, Options{})
	setBlocks(t, c, "0.0.0.0/0 0 198.51.100.20/32 443", "198.51.100.99/32 0 0.0.0.0/0 0")
	before := time.Now()
	run(t, c, cToS().bytes(t))
	run(t, c, cToS().reversed().bytes(t))
	after := time.Now()
	hits, err := c.Hits()
	if err != nil {
		t.Fatal(err)
	}
	h := hits[100]
	if h.Hits != 2 {
		t.Errorf("entry 100: %d hits, want 2", h.Hits)
	}
	// The two clocks are read a few microseconds apart; allow 10 ms of skew.
	slack := 10 * time.Millisecond
	if h.LastHit.Before(before.Add(-slack)) || h.LastHit.After(after.Add(slack)) {
		t.Errorf("last hit %v outside [%v, %v]", h.LastHit, before, after)
	}
	if u := hits[101]; u.Hits != 0 || !u.LastHit.IsZero() {
		t.Errorf("entry 101 never matched but reports %+v", u)
	}
}

// TestPinnedDump: bpftool reads the pinned blocks map with BTF, so an
// entry's fields show by name.
func TestPinnedDump(t *testing.T) {
	c := load(t, Options{})
	if err := c.SetBlocks([]Entry{{ID: 4242,
		Spec: flowspec.MustParse("0.0.0.0/0 0 198.51.100.20/32 443")}}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(c.PinPath(), "blocks")
	out, err := exec.Command("bpftool", "-j", "map", "dump", "pinned", path).Output()
	if err != nil {
		t.Fatalf("bpftool map dump pinned %q: %v", path, err)
	}
	var dump []struct {
		Formatted struct {
			Key struct {
				Dport uint16 `json:"dport"`
				Shape struct {
					Family  int `json:"family"`
					DstPlen int `json:"dst_plen"`
				} `json:"shape"`
			} `json:"key"`
			Value struct {
				EntryID uint64 `json:"entry_id"`
			} `json:"value"`
		} `json:"formatted"`
	}
	if err := json.Unmarshal(out, &dump); err != nil {
		t.Fatalf("bpftool output %q: %v", out, err)
	}
	if len(dump) != 1 {
		t.Fatalf("%d entries in dump, want 1: %s", len(dump), out)
	}
	f := dump[0].Formatted
	if f.Value.EntryID != 4242 || f.Key.Dport != 443 || f.Key.Shape.Family != 4 ||
		f.Key.Shape.DstPlen != 32 {
		t.Errorf("dump does not show the entry by field names: %s", out)
	}
}

// TestHitsMany: Hits reads tables larger than one batch completely.
func TestHitsMany(t *testing.T) {
	c := load(t, Options{})
	es := mixedEntries(3*hitBatch + 5)
	if err := c.SetBlocks(es); err != nil {
		t.Fatal(err)
	}
	hits, err := c.Hits()
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != len(es) {
		t.Errorf("hits for %d entries, want %d", len(hits), len(es))
	}
}
