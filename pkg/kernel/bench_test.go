package kernel

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/softips/softips/pkg/flowspec"
)

// benchRepeat is how often the kernel runs the program per measurement.
const benchRepeat = 100_000

// mixedEntries builds n entries spread over six shapes, in the benchmark
// range 198.18.0.0/15 and 2001:db8::/32: a host, a host pair with a port,
// a /24 to a host, all four fields, a host pair with a source port, and
// an IPv6 pair with a port.
func mixedEntries(n int) []Entry {
	out := make([]Entry, 0, n)
	for i := range n {
		a := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
		b := netip.AddrFrom4([4]byte{198, 19, byte(i >> 8), byte(i)})
		p := uint16(1024 + i%50000)
		s := flowspec.Spec{Src: netip.PrefixFrom(a, 32), Dst: netip.PrefixFrom(b, 32)}
		switch i % 6 {
		case 0:
			s.Dst = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		case 1:
			s.DstPort = 443
		case 2:
			s.Src = netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), 0}), 24)
		case 3:
			s.SrcPort, s.DstPort = p, 80
		case 4:
			s.SrcPort = p
		case 5:
			v6a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)})
			v6b := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 1, 14: byte(i >> 8),
				15: byte(i)})
			s = flowspec.Spec{Src: netip.PrefixFrom(v6a, 128), Dst: netip.PrefixFrom(v6b, 128),
				DstPort: 443}
		}
		out = append(out, Entry{ID: uint64(i + 1), Spec: s})
	}
	return dedupe(out)
}

// twelveShapes builds n entries spread over twelve shapes: half in the six
// of mixedEntries, half in six more with other prefix lengths and wildcard
// sides, three IPv4 and three IPv6.
func twelveShapes(n int) []Entry {
	out := mixedEntries(n)
	for i := range out {
		if i%12 < 6 {
			continue
		}
		v4 := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
		v6 := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 2, 14: byte(i >> 8),
			15: byte(i)})
		any4 := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		any6 := netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		specs := [6]flowspec.Spec{
			{Src: any4, Dst: netip.PrefixFrom(v4, 32), DstPort: 8443},
			{Src: netip.PrefixFrom(v4, 16).Masked(), Dst: netip.PrefixFrom(v4, 32), DstPort: 80},
			{Src: netip.PrefixFrom(v4, 32), Dst: netip.PrefixFrom(v4, 24).Masked(), DstPort: 22},
			{Src: netip.PrefixFrom(v6, 128), Dst: any6},
			{Src: netip.PrefixFrom(v6, 64).Masked(), Dst: netip.PrefixFrom(v6, 128), DstPort: 53},
			{Src: any6, Dst: netip.PrefixFrom(v6, 128), DstPort: 25},
		}
		out[i].Spec = specs[i%6]
	}
	return dedupe(out)
}

// dedupe drops entries whose spec an earlier entry already has (the /24s).
func dedupe(in []Entry) []Entry {
	seen := map[flowspec.Spec]bool{}
	out := in[:0]
	for _, e := range in {
		if !seen[e.Spec] {
			seen[e.Spec] = true
			out = append(out, e)
		}
	}
	return out
}

// benchProgram reports the kernel's own ns per packet for prog on data.
func benchProgram(b *testing.B, prog *ebpf.Program, data []byte) {
	var total float64
	for b.Loop() {
		_, d, err := prog.Benchmark(data, benchRepeat, nil)
		if err != nil {
			b.Fatal(err)
		}
		total += float64(d.Nanoseconds())
	}
	b.ReportMetric(total/float64(b.N), "ns/pkt")
}

// BenchmarkClassifier measures the classifier per packet for 10, 1,000 and
// 100,000 entries of six shapes, on a missing and a matching segment, next
// to an empty XDP_PASS program; then misses at one and twelve shapes and
// with no entries at all (parsing and counting only). Matching segments of one flow soon hit
// the rate limit, as a flood would.
func BenchmarkClassifier(b *testing.B) {
	miss := frame{src: "203.0.113.10", dst: "198.51.100.20", sport: 51000, dport: 443,
		flags: "AP", seq: 1, payload: 100}.bytes(b)
	hit := frame{src: "198.19.0.3", dst: "198.18.0.3", sport: 80, dport: 1027,
		flags: "AP", seq: 1, payload: 100}.bytes(b) // entry 4, reversed
	for _, n := range []int{10, 1_000, 100_000} {
		c := load(b, Options{})
		if err := c.SetBlocks(mixedEntries(n)); err != nil {
			b.Fatal(err)
		}
		if _, err := c.objs.SoftipsXdp.Run(&ebpf.RunOptions{Data: hit}); err != nil {
			b.Fatal(err)
		}
		if m := counters(b, c); m["matched"] != 1 {
			b.Fatalf("hit frame did not match: %v", m)
		}
		b.Run(fmt.Sprintf("entries=%d/miss", n), func(b *testing.B) {
			benchProgram(b, c.objs.SoftipsXdp, miss)
		})
		b.Run(fmt.Sprintf("entries=%d/hit", n), func(b *testing.B) {
			benchProgram(b, c.objs.SoftipsXdp, hit)
		})
		if n == 10 {
			b.Run("empty", func(b *testing.B) { benchProgram(b, c.objs.SoftipsEmpty, miss) })
		}
	}
	c := load(b, Options{})
	if err := c.SetBlocks(oneShape(mixedEntries(6_000))); err != nil {
		b.Fatal(err)
	}
	b.Run("entries=1000/shapes=1/miss", func(b *testing.B) {
		benchProgram(b, c.objs.SoftipsXdp, miss)
	})
	c = load(b, Options{})
	if err := c.SetBlocks(twelveShapes(1_000)); err != nil {
		b.Fatal(err)
	}
	if n, err := c.Shapes(); err != nil || n != 12 {
		b.Fatalf("%d shapes (%v), want 12", n, err)
	}
	b.Run("entries=1000/shapes=12/miss", func(b *testing.B) {
		benchProgram(b, c.objs.SoftipsXdp, miss)
	})
	c = load(b, Options{})
	b.Run("entries=0/miss", func(b *testing.B) { benchProgram(b, c.objs.SoftipsXdp, miss) })
}

// oneShape keeps the entries of the host-pair-and-port shape only.
func oneShape(in []Entry) []Entry {
	var out []Entry
	for _, e := range in {
		if e.Spec.DstPort == 443 && e.Spec.SrcPort == 0 && !e.Spec.Is6() {
			out = append(out, e)
		}
	}
	return out
}
