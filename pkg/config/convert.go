package config

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/softips/softips/pkg/blocktable"
	"github.com/softips/softips/pkg/invariant"
)

// Rails returns the guard rails, every protected list under its label.
func (g Guard) Rails() blocktable.Guard {
	r := blocktable.Guard{RequireAddress: g.RequireAddress, MinInvariants: g.MinInvariants,
		MaxWidthV4: g.MaxWidthV4, MaxWidthV6: g.MaxWidthV6}
	lists := []struct {
		label string
		ps    []Prefix
	}{{"sensor", g.Sensor}, {"gateway", g.Gateways}, {"management", g.Management},
		{"never_block", g.NeverBlock}}
	for _, l := range lists {
		for _, p := range l.ps {
			r.Protected = append(r.Protected, blocktable.Protected{Prefix: netip.Prefix(p),
				Label: l.label})
		}
	}
	return r
}

// TableOptions returns the block table's options (no clock, no hook: the
// daemon sets those).
func (c *Config) TableOptions() blocktable.Options {
	o := blocktable.DefaultOptions()
	t := c.Table
	o.StateDir, o.MaxEntries, o.MaxAdmin, o.MaxExplain = t.StateDir, t.MaxEntries,
		t.MaxAdmin, t.MaxExplain
	for i := range min(len(t.Lifetimes), len(o.Lifetimes)) {
		o.Lifetimes[i] = time.Duration(t.Lifetimes[i])
	}
	o.Guard = c.Guard.Rails()
	return o
}

// InvariantOptions returns the extractor's options. It fails only on a
// lattice Validate would have refused.
func (c *Config) InvariantOptions() (invariant.Options, error) {
	v := c.Invariant
	o := invariant.Options{Threshold: v.Threshold, Window: time.Duration(v.Window),
		MaxTracked: v.MaxTracked, MinInvariants: c.Guard.MinInvariants}
	for i, s := range v.Lattice {
		sh, err := invariant.ParseShape(s)
		if err != nil {
			return invariant.Options{}, fmt.Errorf("invariant.lattice[%d]: %w", i, err)
		}
		o.Lattice = append(o.Lattice, sh)
	}
	return o, nil
}
