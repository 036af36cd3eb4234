package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/softips/softips/pkg/invariant"
)

// KeyError is an invalid value: its key path (e.g. "guard.max_width_v4",
// "detect.multi_session[1].by"), its line in the file (0 when the value
// is a default), and why.
type KeyError struct {
	Key  string
	Line int
	Msg  string
}

func (e *KeyError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.Key, e.Msg)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Key, e.Msg)
}

// Validate checks every value, and returns all problems found, each a
// *KeyError, joined.
func (c *Config) Validate() error { return c.validate(nil) }

type checker struct {
	root *yaml.Node
	errs []error
}

func (k *checker) fail(key, format string, args ...any) {
	k.errs = append(k.errs, &KeyError{Key: key, Line: lineOf(k.root, key),
		Msg: fmt.Sprintf(format, args...)})
}

func (k *checker) atLeast(key string, v, least int) {
	if v < least {
		k.fail(key, "must be at least %d, got %d", least, v)
	}
}

func (k *checker) between(key string, v, lo, hi int) {
	if v < lo || v > hi {
		k.fail(key, "must be between %d and %d, got %d", lo, hi, v)
	}
}

func (c *Config) validate(root *yaml.Node) error {
	k := &checker{root: root}
	c.Invariant.check(k)
	c.Table.check(k)
	c.Guard.check(k)
	c.Detect.check(k)
	c.Inject.check(k)
	c.AV.check(k)
	k.atLeast("av.max_scan_bytes", c.AV.MaxScanBytes, 0)
	return errors.Join(k.errs...)
}

func (v Invariant) check(k *checker) {
	k.atLeast("invariant.threshold", v.Threshold, 1)
	if v.Window <= 0 {
		k.fail("invariant.window", "must be positive, got %v", v.Window)
	}
	k.atLeast("invariant.max_tracked", v.MaxTracked, 1)
	for i, s := range v.Lattice {
		if _, err := invariant.ParseShape(s); err != nil {
			k.fail(fmt.Sprintf("invariant.lattice[%d]", i), "%v", err)
		}
	}
}

func (t Table) check(k *checker) {
	k.atLeast("table.max_entries", t.MaxEntries, 1)
	k.atLeast("table.max_admin", t.MaxAdmin, 1)
	k.atLeast("table.max_explain", t.MaxExplain, 1)
	if len(t.Lifetimes) != 4 {
		k.fail("table.lifetimes", "want 4 durations (1, 2, 3 and 4 fixed fields), got %d",
			len(t.Lifetimes))
	}
	for i, d := range t.Lifetimes {
		if d <= 0 {
			k.fail(fmt.Sprintf("table.lifetimes[%d]", i), "must be positive, got %v", d)
		}
	}
}

func (g Guard) check(k *checker) {
	k.between("guard.min_invariants", g.MinInvariants, 1, 4)
	k.between("guard.max_width_v4", g.MaxWidthV4, 0, 32)
	k.between("guard.max_width_v6", g.MaxWidthV6, 0, 128)
}

func (a AV) check(k *checker) {
	if !slices.Contains([]string{"", "client-server-port", "client", "pair"}, a.Policy) {
		k.fail("av.policy", "unknown policy %q (want client-server-port, client or pair)",
			a.Policy)
	}
}

func (d Detect) check(k *checker) {
	for i, a := range d.Promote {
		if !slices.Contains([]string{"alert", "drop", "reject"}, a) {
			k.fail(fmt.Sprintf("detect.promote[%d]", i),
				"unknown action %q (want alert, drop or reject)", a)
		}
	}
	k.between("detect.snap_len", d.SnapLen, 64, 2048)
	k.atLeast("detect.stream_depth", d.StreamDepth, 0)
	for i, m := range d.MultiSession {
		m.check(k, fmt.Sprintf("detect.multi_session[%d]", i))
	}
}

func (m MultiSession) check(k *checker, key string) {
	if m.Name == "" {
		k.fail(key+".name", "must not be empty")
	}
	if !slices.Contains([]string{"src", "dst", "pair"}, m.By) {
		k.fail(key+".by", "unknown grouping %q (want src, dst or pair)", m.By)
	}
	k.atLeast(key+".count", m.Count, 1)
	if m.Window <= 0 {
		k.fail(key+".window", "must be positive, got %v", m.Window)
	}
	if m.Keep != "" {
		if _, err := invariant.ParseShape(m.Keep); err != nil {
			k.fail(key+".keep", "%v", err)
		}
	}
}

func (i Inject) check(k *checker) {
	k.between("inject.ttl", i.TTL, 1, 255)
	k.between("inject.fixed_ttl", i.FixedTTL, 0, 255)
	k.atLeast("inject.flow_burst", i.FlowBurst, 1)
	k.atLeast("inject.extra_budget", i.ExtraBudget, 0)
	if i.FlowInterval <= 0 || i.FlowInterval > Duration(4*time.Second) {
		k.fail("inject.flow_interval", "must be between 1ns and 4s, got %v", i.FlowInterval)
	}
	if i.QuietTime <= 0 {
		k.fail("inject.quiet_time", "must be positive, got %v", i.QuietTime)
	}
	if i.RetryEvery <= 0 {
		k.fail("inject.retry_every", "must be positive, got %v", i.RetryEvery)
	}
}

// lineOf finds the line of the value at key ("a.b[2].c") in the document,
// or of its nearest ancestor present; 0 when there is no document.
func lineOf(root *yaml.Node, key string) int {
	if root == nil || len(root.Content) == 0 {
		return 0
	}
	n, line := root.Content[0], 0
	for _, part := range strings.Split(strings.ReplaceAll(key, "[", ".["), ".") {
		next := child(n, part)
		if next == nil {
			return line
		}
		n, line = next, next.Line
	}
	return line
}

func child(n *yaml.Node, part string) *yaml.Node {
	if idx, ok := strings.CutPrefix(part, "["); ok {
		i, err := strconv.Atoi(strings.TrimSuffix(idx, "]"))
		if n.Kind != yaml.SequenceNode || err != nil || i >= len(n.Content) {
			return nil
		}
		return n.Content[i]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for j := 0; j+1 < len(n.Content); j += 2 {
		if n.Content[j].Value == part {
			return n.Content[j+1]
		}
	}
	return nil
}
