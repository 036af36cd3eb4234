//go:build linux

package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/softips/softips/pkg/api"
	"github.com/softips/softips/pkg/blocktable"
)

// Issue 3 #4 scenario: crash safety.
const (
	derivedLifetime = 100 * time.Second // default idle lifetime, 3 fixed fields
	crashAge        = 8 * time.Second   // how long the derived entry idles first
	lifetimeSlack   = time.Second       // CLI round trips and rounding
	// staleness is how old the lifetimes in the state file may be: the
	// daemon rewrites it at least this often while automatic entries exist.
	staleness = blocktable.DefaultSaveEvery
)

// TestCrashKeepsBlocks: an admin entry, then a derived entry (six signals
// from one source port) that idles crashAge; the daemon is killed with
// SIGKILL and started again on the same state directory. Every entry is
// back: the admin one is enforced at once, the derived one keeps the
// lifetime it had left, give or take how stale the state file may be
// (not a fresh lifetime, nor the one it had at its last change), and is
// enforced too.
func TestCrashKeepsBlocks(t *testing.T) {
	requireLab(t)
	state := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), scenarioBudget)
	defer cancel()
	srv := startPortServer(t, sigPortFirst, sigPortUnseen)

	first := launchDaemon(t, state)
	if err := first.CLI().BlockAdd(ctx, specClientAlt, "e2e crash"); err != nil {
		t.Fatal(err)
	}
	signalFixedPort(t, ctx, first.CLI(), srv)
	time.Sleep(crashAge)
	before, err := first.CLI().Entries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	listedBefore := time.Now()
	if err := first.Kill(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed daemon pid %d with %d entries", first.PID(), len(before))

	second := startDaemon(t, state)
	after, err := second.CLI().Entries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	listedAfter := time.Now()
	checkSameEntries(t, before, after)
	checkDerivedLifetime(t, before, listedBefore, after, listedAfter)

	expectBlocked(t, ctx, ClientAddr.String(), fmt.Sprintf("%v:8080", ServerAddr))
	expectOpen(t, ctx, ClientAltAddr.String(), fmt.Sprintf("%v:8080", ServerAddr))
	expectBlockedFrom(t, ctx, netip.AddrPortFrom(ClientAddr, fixedSrcPort),
		fmt.Sprintf("%v:%d", ServerAddr, sigPortUnseen))
}

// launchDaemon starts a daemon the test means to kill: its clean-up stops
// it only if it still runs, and logs it if the test failed.
func launchDaemon(t *testing.T, stateDir string) *Daemon {
	t.Helper()
	tmp := t.TempDir()
	cfg := DaemonConfig{Bin: requireSoftips(t), StateDir: stateDir,
		Socket:  filepath.Join(tmp, "softips.sock"),
		LogPath: filepath.Join(tmp, "softips.log")}
	d, err := StartDaemon(t.Context(), cfg, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select {
		case <-d.Exited():
		default:
			if err := d.Stop(5 * time.Second); err != nil {
				t.Error(err)
			}
		}
		if t.Failed() {
			t.Logf("first daemon log:\n%s", d.Log())
		}
	})
	return d
}

// checkSameEntries asserts the restart brought back every entry, with its
// id, spec and origin.
func checkSameEntries(t *testing.T, before, after []api.Entry) {
	t.Helper()
	key := func(es []api.Entry) []string {
		var out []string
		for _, e := range es {
			out = append(out, fmt.Sprintf("%d %s %s", e.ID, e.Origin, e.Spec))
		}
		slices.Sort(out)
		return out
	}
	kb, ka := key(before), key(after)
	if !slices.Equal(kb, ka) {
		t.Errorf("entries after the crash differ:\nbefore %q\nafter  %q", kb, ka)
	}
	if n := len(ByOrigin(before, OriginAdmin)); n != 1 || len(before) != sigSignals+2 {
		t.Errorf("before the crash: %d entries, %d admin; want %d, 1", len(before), n,
			sigSignals+2)
	}
}

// checkDerivedLifetime asserts the derived entry came back with the idle
// lifetime it had left, not a fresh one.
func checkDerivedLifetime(t *testing.T, before []api.Entry, tb time.Time,
	after []api.Entry, ta time.Time) {
	t.Helper()
	b, okb := FindEntry(before, specWidened)
	a, oka := FindEntry(after, specWidened)
	if !okb || !oka || a.Origin != OriginDerived {
		t.Fatalf("derived entry %q: before %v, after %+v", specWidened, okb, a)
	}
	left, leftNow := b.Expires.Sub(tb), a.Expires.Sub(ta)
	t.Logf("derived entry %d: %v left before the crash, %v after (expires_in %q)", a.ID,
		left.Round(time.Millisecond), leftNow.Round(time.Millisecond), a.ExpiresIn)
	most := left + staleness + lifetimeSlack
	if leftNow <= 0 || leftNow > most {
		t.Errorf("derived entry after the crash: %v left, want in (0, %v]: the %v it "+
			"had, not a fresh %v", leftNow, most, left, derivedLifetime)
	}
	if d, err := time.ParseDuration(a.ExpiresIn); err != nil || d <= 0 {
		t.Errorf("derived entry after the crash: expires_in %q, want a positive duration",
			a.ExpiresIn)
	}
}
