package main

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/softips/softips/bench/internal/result"
	"github.com/softips/softips/pkg/blocktable"
	"github.com/softips/softips/pkg/flowspec"
	"github.com/softips/softips/pkg/invariant"
)

// floodSignals sends n distinct block signals, as the daemon does with
// each: one detector entry in the block table and one ingest into the
// invariant extractor, both with their default limits.
func floodSignals(n int) ([]result.Row, error) {
	base := measureMemory()
	clock := time.Unix(1_800_000_000, 0)
	now := func() time.Time { return clock }
	to := blocktable.DefaultOptions()
	to.Now = now
	tb, err := blocktable.Open(to)
	if err != nil {
		return nil, fmt.Errorf("open block table: %w", err)
	}
	xo := invariant.DefaultOptions()
	xo.Now = now
	x, err := invariant.New(tb, xo)
	if err != nil {
		return nil, fmt.Errorf("new extractor: %w", err)
	}
	var at []memory
	next, refused := 0, 0
	for i := 0; i < 2*n; i++ {
		clock = clock.Add(time.Millisecond)
		sig := signal(i, clock)
		if _, _, err := tb.Add(blocktable.Request{Spec: sig.Spec,
			Origin: blocktable.Detector, Signals: []blocktable.Signal{sig}}); err != nil {
			refused++
		}
		x.Ingest(sig)
		if next < len(checkpoints) && i+1 == checkpoint(n, next) {
			at = append(at, measureMemory())
			next++
		}
	}
	return signalRows(n, base, at, tb.Stats(), x.Stats(), to, xo, refused), nil
}

// signal i comes from its own client address and port, to one of 64
// servers: distinct signals that never agree on a generalisation.
func signal(i int, t time.Time) blocktable.Signal {
	src := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
	dst := netip.AddrFrom4([4]byte{203, 0, 113, byte(i % 64)})
	return blocktable.Signal{Source: "sid:1", Time: t, Spec: flowspec.Spec{
		Src: netip.PrefixFrom(src, 32), SrcPort: uint16(1024 + i%60000),
		Dst: netip.PrefixFrom(dst, 32), DstPort: 443}}
}

func signalRows(n int, base memory, at []memory, ts blocktable.Stats, xs invariant.Stats,
	to blocktable.Options, xo invariant.Options, refused int) []result.Row {
	rows := memoryRows("signals", "block table and extractor, distinct signals", n, base, at)
	return append(rows,
		row("signals/table_entries", "block-table entries at the end", "entries",
			float64(ts.Entries)),
		row("signals/max_entries", "block-table limit (MaxEntries default)", "entries",
			float64(to.MaxEntries)),
		row("signals/refused_full", "signals refused because the table was full",
			"signals", float64(refused)),
		row("signals/tracked", "generalisations the extractor tracks at the end",
			"generalisations", float64(xs.Tracked)),
		row("signals/max_tracked", "extractor limit (MaxTracked default)",
			"generalisations", float64(xo.MaxTracked)),
		row("signals/evicted", "generalisations evicted from the LRU", "generalisations",
			float64(xs.Evicted)))
}
