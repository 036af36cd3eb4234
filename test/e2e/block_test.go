//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// Scenario specs (issue 2, "What it must show" #2 and #3).
const (
	specClientWeb  = "198.51.100.7/32 0 203.0.113.10/32 80"
	specClientAlt  = "198.51.100.7/32 0 203.0.113.10/32 8080"
	specClient6    = "2001:db8:1::7/128 0 2001:db8:2::10/128 80"
	resetBudget    = time.Second
	probeWait      = 2 * time.Second
	scenarioBudget = 60 * time.Second
)

// blocker is what a scenario needs from whatever ends flows: the softips
// daemon through its CLI, or the lab self-test's own reactor.
type blocker interface {
	Block(ctx context.Context, spec string) error
	Unblock(ctx context.Context, spec string) error
}

// cliBlocker blocks through `softips block add/del`.
type cliBlocker struct{ cli CLI }

func (b cliBlocker) Block(ctx context.Context, spec string) error {
	return b.cli.BlockAdd(ctx, spec, "e2e")
}

func (b cliBlocker) Unblock(ctx context.Context, spec string) error {
	return b.cli.BlockDel(ctx, spec)
}

// TestBlockResetsEstablishedFlows: an interactive connection and a bulk
// transfer from 198.51.100.7 to :80 are reset on both endpoints within 1 s
// of `block add`, while 198.51.100.8 keeps talking to the same server.
func TestBlockResetsEstablishedFlows(t *testing.T) {
	srv := requireLab(t)
	d := startDaemon(t, "")
	scenarioEstablished(t, srv, cliBlocker{d.CLI()})
	logHits(t, t.Context(), d.CLI(), specClientWeb)
}

func scenarioEstablished(t *testing.T, srv *Server, b blocker) {
	ctx, cancel := context.WithTimeout(t.Context(), scenarioBudget)
	defer cancel()
	inter := mustInteractive(t, ctx, "198.51.100.7", "203.0.113.10:80")
	bulk := mustBulk(t, ctx, "198.51.100.7", "203.0.113.10:80")
	ctrl := mustInteractive(t, ctx, "198.51.100.8", "203.0.113.10:80")
	blocked := []*Endpoint{inter, mustPeer(t, srv, inter), bulk, mustPeer(t, srv, bulk)}
	for _, ep := range append(blocked, ctrl) {
		waitTraffic(t, ep, 2*int64(len(probeMsg)))
	}
	ctrlBefore := ctrl.Snapshot().Received

	t0 := time.Now()
	if err := b.Block(ctx, specClientWeb); err != nil {
		t.Fatal(err)
	}
	t.Logf("block returned after %v", time.Since(t0))
	for _, ep := range blocked {
		o, _ := ep.Wait(time.Until(t0.Add(resetBudget)))
		if o.End != EndReset || o.EndAt.Sub(t0) > resetBudget {
			t.Errorf("%s: want a reset within %v of the block, got %v", o.Label,
				resetBudget, o)
			continue
		}
		t.Logf("%s %v: reset %v after the block (recv %d bytes)", o.Label, o.Local,
			o.EndAt.Sub(t0), o.Received)
	}

	time.Sleep(time.Until(t0.Add(1500 * time.Millisecond)))
	if o := ctrl.Snapshot(); o.End != EndNone || o.Received <= ctrlBefore {
		t.Errorf("unblocked host stalled: %v (had %d bytes at the block)", o, ctrlBefore)
	}
}

// TestBlockResetsIPv6Flow: the same for an interactive IPv6 connection.
func TestBlockResetsIPv6Flow(t *testing.T) {
	srv := requireLab(t)
	d := startDaemon(t, "")
	scenarioIPv6(t, srv, cliBlocker{d.CLI()})
}

func scenarioIPv6(t *testing.T, srv *Server, b blocker) {
	ctx, cancel := context.WithTimeout(t.Context(), scenarioBudget)
	defer cancel()
	inter := mustInteractive(t, ctx, "2001:db8:1::7", "[2001:db8:2::10]:80")
	blocked := []*Endpoint{inter, mustPeer(t, srv, inter)}
	for _, ep := range blocked {
		waitTraffic(t, ep, 2*int64(len(probeMsg)))
	}
	t0 := time.Now()
	if err := b.Block(ctx, specClient6); err != nil {
		t.Fatal(err)
	}
	for _, ep := range blocked {
		o, _ := ep.Wait(time.Until(t0.Add(resetBudget)))
		if o.End != EndReset || o.EndAt.Sub(t0) > resetBudget {
			t.Errorf("%s: want a reset within %v of the block, got %v", o.Label,
				resetBudget, o)
			continue
		}
		t.Logf("%s %v: reset %v after the block", o.Label, o.Local, o.EndAt.Sub(t0))
	}
}

// TestBlockRefusesNewConnections: once blocked, a new connection fails
// (refused, or reset before its first reply byte: the RST races the
// SYN-ACK, DESIGN.md §7); the unblocked host still connects; after
// `block del` the client connects again. The list shows the admin entry
// while it exists.
func TestBlockRefusesNewConnections(t *testing.T) {
	requireLab(t)
	d := startDaemon(t, "")
	scenarioNewConnections(t, listChecker{cliBlocker{d.CLI()}, t})
}

// listChecker wraps cliBlocker with checks of `block list` after each step.
type listChecker struct {
	cliBlocker
	t *testing.T
}

func (l listChecker) Block(ctx context.Context, spec string) error {
	if err := l.cliBlocker.Block(ctx, spec); err != nil {
		return err
	}
	entries, err := l.cli.BlockList(ctx)
	if err != nil {
		return err
	}
	e, ok := FindBlock(entries, spec)
	if !ok || e.Origin != OriginAdmin || e.IDString() == "" {
		l.t.Errorf("block list lacks admin entry %q: %+v", spec, entries)
	}
	return nil
}

func (l listChecker) Unblock(ctx context.Context, spec string) error {
	if err := l.cliBlocker.Unblock(ctx, spec); err != nil {
		return err
	}
	entries, err := l.cli.BlockList(ctx)
	if err != nil {
		return err
	}
	if _, ok := FindBlock(entries, spec); ok {
		l.t.Errorf("block list still holds %q after del: %+v", spec, entries)
	}
	return nil
}

func scenarioNewConnections(t *testing.T, b blocker) {
	ctx, cancel := context.WithTimeout(t.Context(), scenarioBudget)
	defer cancel()
	if err := b.Block(ctx, specClientWeb); err != nil {
		t.Fatal(err)
	}
	expectBlocked(t, ctx, "198.51.100.7", "203.0.113.10:80")
	expectOpen(t, ctx, "198.51.100.8", "203.0.113.10:80")
	expectOpen(t, ctx, "198.51.100.7", "203.0.113.10:8080")

	if err := b.Unblock(ctx, specClientWeb); err != nil {
		t.Fatal(err)
	}
	expectOpen(t, ctx, "198.51.100.7", "203.0.113.10:80")
}

// TestAdminBlockSurvivesRestart: an admin block is kept in the state
// directory across SIGTERM and a new start, and is enforced again.
func TestAdminBlockSurvivesRestart(t *testing.T) {
	requireLab(t)
	state := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), scenarioBudget)
	defer cancel()

	first := startDaemon(t, state)
	if err := first.CLI().BlockAdd(ctx, specClientAlt, "e2e restart"); err != nil {
		t.Fatal(err)
	}
	expectBlocked(t, ctx, "198.51.100.7", "203.0.113.10:8080")
	if err := first.Stop(5 * time.Second); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, first.Log())
	}

	second := startDaemon(t, state)
	entries, err := second.CLI().BlockList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := FindBlock(entries, specClientAlt); !ok || e.Origin != OriginAdmin {
		t.Fatalf("after restart block list lacks admin %q: %+v", specClientAlt, entries)
	}
	expectBlocked(t, ctx, "198.51.100.7", "203.0.113.10:8080")
	expectOpen(t, ctx, "198.51.100.8", "203.0.113.10:8080")
}

// TestBlockVisibleInPinnedMap: the kernel table is pinned with BTF and
// bpftool shows the entry while it exists.
func TestBlockVisibleInPinnedMap(t *testing.T) {
	requireLab(t)
	d := startDaemon(t, "")
	ctx, cancel := context.WithTimeout(t.Context(), scenarioBudget)
	defer cancel()

	before := mapEntries(t, ctx, d)
	if err := d.CLI().BlockAdd(ctx, specClientWeb, ""); err != nil {
		t.Fatal(err)
	}
	during := mapEntries(t, ctx, d)
	if during <= before {
		t.Errorf("pinned %s: %d entries after block add, %d before", BlocksPin, during,
			before)
	}
	if err := d.CLI().BlockDel(ctx, specClientWeb); err != nil {
		t.Fatal(err)
	}
	if after := mapEntries(t, ctx, d); after != before {
		t.Errorf("pinned %s: %d entries after block del, want %d", BlocksPin, after, before)
	}
}

// waitTraffic waits at most 3 s until ep has moved n bytes either way.
func waitTraffic(t *testing.T, ep *Endpoint, n int64) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(time.Millisecond) {
		o := ep.Snapshot()
		if o.Sent+o.Received >= n {
			return
		}
		if o.End != EndNone || time.Now().After(deadline) {
			t.Fatalf("no traffic yet (want %d bytes): %v", n, o)
		}
	}
}

// mapEntries counts the entries of the pinned block map.
func mapEntries(t *testing.T, ctx context.Context, d *Daemon) int {
	t.Helper()
	out, err := d.BPFTool(ctx, "-j", "map", "dump", "pinned", BlocksPin)
	if err != nil {
		t.Fatal(err)
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(out, &entries); err != nil {
		t.Fatalf("bpftool map dump: %v\n%s", err, out)
	}
	t.Logf("bpftool map dump pinned %s: %d entries", BlocksPin, len(entries))
	return len(entries)
}

func expectBlocked(t *testing.T, ctx context.Context, local, remote string) {
	t.Helper()
	o := ProbeHold(ctx, NSClient, local, remote, probeWait)
	switch {
	case o.End != EndRefused && o.End != EndReset:
		t.Errorf("blocked %s -> %s: want refused or reset, got %v", local, remote, o)
	case o.Received > 0:
		// The RST raced the server's first reply and lost (DESIGN.md §7):
		// the connection still died, which is what is asserted; how often
		// the race is lost is measured by the benchmarks.
		t.Logf("blocked %s -> %s: %v after %v, %d reply bytes got through first",
			local, remote, o.End, o.EndAt.Sub(o.Start), o.Received)
	default:
		t.Logf("blocked %s -> %s: %v after %v", local, remote, o.End, o.EndAt.Sub(o.Start))
	}
}

func expectOpen(t *testing.T, ctx context.Context, local, remote string) {
	t.Helper()
	o := Probe(ctx, NSClient, local, remote, probeWait)
	if o.Received != int64(len(probeMsg)) {
		t.Errorf("open %s -> %s: echo %d of %d bytes: %v", local, remote, o.Received,
			len(probeMsg), o)
	}
}

func logHits(t *testing.T, ctx context.Context, cli CLI, spec string) {
	t.Helper()
	entries, err := cli.BlockList(ctx)
	if err != nil {
		t.Error(err)
		return
	}
	if e, ok := FindBlock(entries, spec); ok {
		t.Logf("entry %s %q: origin %s, %d hits", e.IDString(), e.Spec, e.Origin, e.Hits)
	}
}

func mustInteractive(t *testing.T, ctx context.Context, local, remote string) *Endpoint {
	t.Helper()
	ep, err := Interactive(ctx, NSClient, local, remote, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// mustTalk dials remote from local in the client namespace and starts a
// conversation labelled label on it; the caller closes it.
func mustTalk(t *testing.T, ctx context.Context, local, remote, label string) *Talk {
	t.Helper()
	c, err := Dial(ctx, NSClient, local, remote)
	if err != nil {
		t.Fatal(err)
	}
	return NewTalk(c, label)
}

func mustBulk(t *testing.T, ctx context.Context, local, remote string) *Endpoint {
	t.Helper()
	ep, err := Bulk(ctx, NSClient, local, remote)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func mustPeer(t *testing.T, srv *Server, client *Endpoint) *Endpoint {
	t.Helper()
	ep, err := srv.Peer(client.Snapshot().Local, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}
