package invariant

import (
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/softips/softips/pkg/blocktable"
	"github.com/softips/softips/pkg/flowspec"
)

// benchSignals makes n signals: attackers from a pool of `attackers`
// addresses with random source ports, against 64 victims on 1024 ports.
// A small pool repeats itself and widens; a huge one never does.
func benchSignals(n, attackers int, rng *rand.Rand) []blocktable.Signal {
	out := make([]blocktable.Signal, n)
	for i := range out {
		a := rng.IntN(attackers)
		src := netip.AddrFrom4([4]byte{198, 18, byte(a >> 8), byte(a)})
		if attackers > 1<<16 {
			src = netip.AddrFrom4([4]byte{10, byte(a >> 16), byte(a >> 8), byte(a)})
		}
		dst := netip.AddrFrom4([4]byte{203, 0, 113, byte(rng.IntN(64))})
		out[i] = blocktable.Signal{Source: "sid:2001", Spec: flowspec.Spec{
			Src: netip.PrefixFrom(src, 32), SrcPort: uint16(1024 + rng.IntN(60000)),
			Dst: netip.PrefixFrom(dst, 32), DstPort: uint16(1 + rng.IntN(1024)),
		}}
	}
	return out
}

func benchExtractor(b *testing.B, maxTracked int, now func() time.Time) *Extractor {
	b.Helper()
	to := blocktable.DefaultOptions()
	to.Now = now
	tb, err := blocktable.Open(to)
	if err != nil {
		b.Fatal(err)
	}
	o := DefaultOptions()
	o.Now, o.MaxTracked = now, maxTracked
	x, err := New(tb, o)
	if err != nil {
		b.Fatal(err)
	}
	return x
}

// BenchmarkIngest reports signals per second through a default extractor
// on a mixed stream (4096 attackers, so it tracks, widens and finds
// covered signals), and the heap held per tracked signal and per tracked
// generalisation, measured once on distinct signals that never widen.
func BenchmarkIngest(b *testing.B) {
	bytesPerSignal, bytesPerGen := trackedBytes(b, 20000)
	clock := &fakeClock{t: t0}
	x := benchExtractor(b, DefaultOptions().MaxTracked, clock.Now)
	sigs := benchSignals(1<<16, 4096, rand.New(rand.NewPCG(1, 2)))
	i := 0
	for b.Loop() {
		clock.Advance(time.Millisecond)
		x.Ingest(sigs[i&(len(sigs)-1)])
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signals/s")
	b.ReportMetric(bytesPerSignal, "B/tracked-signal")
	b.ReportMetric(bytesPerGen, "B/generalisation")
}

func trackedBytes(b *testing.B, n int) (perSignal, perGen float64) {
	b.Helper()
	clock := &fakeClock{t: t0}
	sigs := benchSignals(n, 1<<24, rand.New(rand.NewPCG(3, 4)))
	for i := range sigs { // distinct victims too, so nothing is shared
		sigs[i].Spec.Dst = netip.PrefixFrom(netip.AddrFrom4([4]byte{203, 0, byte(i >> 8),
			byte(i)}), 32)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	x := benchExtractor(b, 1<<22, clock.Now)
	for _, s := range sigs {
		x.Ingest(s)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := float64(after.HeapAlloc - before.HeapAlloc)
	st := x.Stats()
	runtime.KeepAlive(x)
	runtime.KeepAlive(sigs)
	return held / float64(n), held / float64(st.Tracked)
}
