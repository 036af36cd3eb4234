package kernel

import (
	"errors"
	"math/bits"
	"net/netip"
	"testing"

	"github.com/cilium/ebpf"
)

// kernelFilter reads the nonzero buckets of the kernel's address filter.
func kernelFilter(t *testing.T, c *Classifier) addrFilter {
	t.Helper()
	out := make(addrFilter)
	var cursor ebpf.MapBatchCursor
	keys := make([]uint32, 1<<16)
	vals := make([]bpfSoftipsAddrBits, 1<<16)
	for {
		n, err := c.objs.AddrFilter.BatchLookup(&cursor, keys, vals, nil)
		for i := range n {
			if vals[i] != (bpfSoftipsAddrBits{}) {
				out[keys[i]] = vals[i]
			}
		}
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return out
		}
		if err != nil {
			t.Fatalf("read address filter: %v", err)
		}
	}
}

// addrBitsSet counts the bits set in the kernel's address filter.
func addrBitsSet(t *testing.T, c *Classifier) int {
	t.Helper()
	n := 0
	for _, v := range kernelFilter(t, c) {
		n += bits.OnesCount64(v.Src) + bits.OnesCount64(v.Dst)
	}
	return n
}

// fixedSides counts the fixed address sides of es; when no two of them share
// a shape and a prefix, each sets one filter bit.
func fixedSides(es []Entry) int {
	n := 0
	for _, e := range es {
		if e.Spec.Src.Bits() != 0 {
			n++
		}
		if e.Spec.Dst.Bits() != 0 {
			n++
		}
	}
	return n
}

// bucketOf reads the kernel filter bucket of prefix p.
func bucketOf(t *testing.T, c *Classifier, p string) bpfSoftipsAddrBits {
	t.Helper()
	pf := netip.MustParsePrefix(p)
	var a [16]uint8
	putAddr(&a, pf.Addr())
	fam := uint8(4)
	if pf.Addr().Is6() {
		fam = 6
	}
	var v bpfSoftipsAddrBits
	b := addrBucket(fam, uint8(pf.Bits()), &a)
	if err := c.objs.AddrFilter.Lookup(b, &v); err != nil {
		t.Fatalf("filter bucket of %s: %v", p, err)
	}
	return v
}

// matchedID runs f and returns the id of the entry it matched, 0 for none.
func matchedID(t *testing.T, c *Classifier, f frame) uint64 {
	t.Helper()
	d := run(t, c, f.bytes(t))
	reqs := drainInjects(t, c)
	if d["matched"] == 0 {
		if len(reqs) != 0 {
			t.Fatalf("no match counted, but %d inject requests", len(reqs))
		}
		return 0
	}
	if len(reqs) != 1 {
		t.Fatalf("matched, but %d inject requests, want 1", len(reqs))
	}
	return reqs[0].EntryID
}

// cToS6 is P over IPv6.
func cToS6() frame {
	f := cToS()
	f.src, f.dst = "2001:db8::10", "2001:db8:1::20"
	return f
}

// TestAddrFilterExact: the filter only narrows the search; whether and
// which entry matches is decided by the full key, as without it.
func TestAddrFilterExact(t *testing.T) {
	cases := []struct {
		name  string
		specs []string
		f     frame
		want  uint64 // id of the reported entry (100 + index), 0 = miss
	}{
		{"addresses present, port absent",
			[]string{"203.0.113.10/32 0 198.51.100.20/32 80"}, cToS(), 0},
		{"both addresses present in one shape, from two entries",
			[]string{"203.0.113.10/32 0 198.51.100.99/32 443",
				"198.51.100.1/32 0 198.51.100.20/32 443"}, cToS(), 0},
		{"addresses present in the other orientation only",
			[]string{"198.51.100.20/32 0 203.0.113.10/32 443"}, cToS(), 0},
		{"address shared across shapes, narrowest reported",
			[]string{"203.0.113.10/32 0 0.0.0.0/0 0",
				"203.0.113.10/32 0 198.51.100.20/32 443"}, cToS(), 101},
		{"address shared across shapes, wider one only",
			[]string{"203.0.113.10/32 0 0.0.0.0/0 0",
				"203.0.113.10/32 0 198.51.100.20/32 80"}, cToS(), 100},
		{"prefix entry", []string{"203.0.113.0/24 0 198.51.100.20/32 0"}, cToS(), 100},
		{"prefix entry, other prefix",
			[]string{"203.0.114.0/24 0 198.51.100.20/32 0"}, cToS(), 0},
		{"prefix entry, reversed",
			[]string{"198.51.100.20/32 443 203.0.113.0/24 0"}, cToS(), 100},
		{"same prefix length on both sides of two shapes",
			[]string{"198.51.100.0/24 0 0.0.0.0/0 0", "0.0.0.0/0 0 203.0.113.0/24 80"},
			cToS(), 100},
		{"port-only shape always searched",
			[]string{"0.0.0.0/0 0 0.0.0.0/0 443", "203.0.113.99/32 0 0.0.0.0/0 0"},
			cToS(), 100},
		{"IPv6 prefix and host", []string{"2001:db8::/32 0 2001:db8:1::20/128 443"},
			cToS6(), 100},
		{"IPv6 addresses present, key absent",
			[]string{"2001:db8::10/128 0 2001:db8:1::21/128 443",
				"2001:db8::11/128 0 2001:db8:1::20/128 443"}, cToS6(), 0},
		{"IPv6 packet, IPv4 port-only entry", []string{"0.0.0.0/0 0 0.0.0.0/0 443"},
			cToS6(), 0},
		{"IPv6 packet, IPv6 port-only entry beside IPv4 hosts",
			[]string{"::/0 51000 ::/0 0", "203.0.113.10/32 0 198.51.100.20/32 443"},
			cToS6(), 100},
	}
	c := load(t, Options{RateBurst: 1000})
	for _, tc := range cases {
		setBlocks(t, c, tc.specs...)
		for _, f := range []frame{tc.f, tc.f.reversed()} {
			if got := matchedID(t, c, f); got != tc.want {
				t.Errorf("%s: %s -> %s matched %d, want %d", tc.name, f.src, f.dst, got,
					tc.want)
			}
		}
	}
}

// TestAddrFilterRemoval: an address keeps its bit while some entry of the
// shape uses it on that side, and loses it with the last one.
func TestAddrFilterRemoval(t *testing.T) {
	const (
		hostA = "203.0.113.10/32 0 0.0.0.0/0 0"
		pairB = "203.0.113.10/32 0 198.51.100.20/32 443"
		netC  = "203.0.113.0/24 0 198.51.100.20/32 0"
		v6D   = "2001:db8::10/128 0 2001:db8:1::/48 0"
	)
	steps := []struct {
		name      string
		specs     []string
		src, dst  int // bits of 203.0.113.10/32 as a source, 198.51.100.20/32 as a dest
		net, v6   int // bits of 203.0.113.0/24 as a source, 2001:db8::10/128 as a source
		wantP     int // index of the entry P matches, -1 = none
		wantTotal int
	}{
		{"two shapes share a source", []string{hostA, pairB, netC, v6D}, 2, 2, 1, 1, 1, 7},
		{"drop the pair", []string{hostA, netC, v6D}, 1, 1, 1, 1, 1, 5},
		{"drop the host", []string{netC, v6D}, 0, 1, 1, 1, 0, 4},
		{"drop the prefix", []string{v6D}, 0, 0, 0, 1, -1, 2},
		{"new shapes reuse freed bits", []string{pairB}, 1, 1, 0, 0, 0, 2},
		{"empty", nil, 0, 0, 0, 0, -1, 0},
	}
	c := load(t, Options{RateBurst: 1000})
	for _, st := range steps {
		setBlocks(t, c, st.specs...)
		got := []int{
			bits.OnesCount64(bucketOf(t, c, "203.0.113.10/32").Src),
			bits.OnesCount64(bucketOf(t, c, "198.51.100.20/32").Dst),
			bits.OnesCount64(bucketOf(t, c, "203.0.113.0/24").Src),
			bits.OnesCount64(bucketOf(t, c, "2001:db8::10/128").Src),
		}
		if want := []int{st.src, st.dst, st.net, st.v6}; !equalInts(got, want) {
			t.Errorf("%s: filter bits %v, want %v", st.name, got, want)
		}
		if n := addrBitsSet(t, c); n != st.wantTotal {
			t.Errorf("%s: %d filter bits in all, want %d", st.name, n, st.wantTotal)
		}
		want := uint64(0)
		if st.wantP >= 0 {
			want = uint64(100 + st.wantP)
		}
		if id := matchedID(t, c, cToS()); id != want {
			t.Errorf("%s: P matched %d, want %d", st.name, id, want)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
