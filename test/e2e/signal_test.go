//go:build linux

package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/softips/softips/pkg/api"
)

// Issue 3 scenario: one client source port, many server ports.
const (
	fixedSrcPort  = 40000
	sigPortFirst  = 9001 // signalled: 9001 .. 9001+sigSignals-1
	sigSignals    = 6    // one more than the default threshold of 5
	sigPortUnseen = 9007 // never named by a signal
	sigSource     = "test"
	specWidened   = "198.51.100.7 40000 203.0.113.10 0"
)

// TestSignalWidensFixedSourcePort: six connections from 198.51.100.7:40000
// to six server ports, each signalled and reset; the sixth signal widens
// them into one derived entry keeping source, source port and destination,
// which then resets a seventh connection to a port no signal named, while
// the same client from another source port still gets through. The list
// and the explanation show the entry and its six signals.
func TestSignalWidensFixedSourcePort(t *testing.T) {
	requireLab(t)
	d := startDaemon(t, "")
	ctx, cancel := context.WithTimeout(t.Context(), scenarioBudget)
	defer cancel()
	srv := startPortServer(t, sigPortFirst, sigPortUnseen)

	widened := signalFixedPort(t, ctx, d.CLI(), srv)
	local := netip.AddrPortFrom(ClientAddr, fixedSrcPort)
	remote := fmt.Sprintf("%v:%d", ServerAddr, sigPortUnseen)
	expectBlockedFrom(t, ctx, local, remote)
	expectOpen(t, ctx, ClientAddr.String(), remote)

	checkWidenedListed(t, ctx, d.CLI(), widened)
}

// startPortServer runs an extra echo server on ServerAddr ports first..last.
func startPortServer(t *testing.T, first, last int) *Server {
	t.Helper()
	var addrs []string
	for p := first; p <= last; p++ {
		addrs = append(addrs, fmt.Sprintf("%v:%d", ServerAddr, p))
	}
	srv, err := StartServer(NSServer, addrs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// signalFixedPort runs the six signalled connections and returns the
// derived entry the last signal installed.
func signalFixedPort(t *testing.T, ctx context.Context, cli CLI, srv *Server) api.Entry {
	t.Helper()
	var derived []api.Entry
	for i := range sigSignals {
		res := signalConn(t, ctx, cli, srv, sigPortFirst+i)
		derived = ByOrigin(res.Installed, OriginDerived)
		if i < sigSignals-1 && len(derived) != 0 {
			t.Fatalf("signal %d of %d widened already: %+v", i+1, sigSignals, res)
		}
	}
	if len(derived) != 1 {
		t.Fatalf("signal %d: want exactly one derived entry installed, got %+v",
			sigSignals, derived)
	}
	if _, ok := FindEntry(derived, specWidened); !ok {
		t.Fatalf("signal %d widened to %q, want %q", sigSignals, derived[0].Spec,
			specWidened)
	}
	t.Logf("signal %d installed derived entry %d %q", sigSignals, derived[0].ID,
		derived[0].Spec)
	return derived[0]
}

// signalConn opens one echo connection from the fixed source port to port,
// signals its exact 4-tuple and asserts both ends are reset.
func signalConn(t *testing.T, ctx context.Context, cli CLI, srv *Server,
	port int) api.SignalResponse {
	t.Helper()
	local := netip.AddrPortFrom(ClientAddr, fixedSrcPort)
	c, err := DialFrom(ctx, NSClient, local, fmt.Sprintf("%v:%d", ServerAddr, port))
	if err != nil {
		t.Fatal(err)
	}
	client := InteractiveOn(ctx, c, 50*time.Millisecond)
	ends := []*Endpoint{client, mustPeer(t, srv, client)}
	waitTraffic(t, client, 2*int64(len(probeMsg)))

	t0 := time.Now()
	res, err := cli.Signal(ctx, fmt.Sprintf("%v %d %v %d", ClientAddr, fixedSrcPort,
		ServerAddr, port), sigSource)
	if err != nil {
		t.Fatal(err)
	}
	for _, ep := range ends {
		o, _ := ep.Wait(time.Until(t0.Add(resetBudget)))
		if o.End != EndReset {
			t.Fatalf("port %d: %s: want a reset within %v of the signal, got %v", port,
				o.Label, resetBudget, o)
		}
	}
	t.Logf("port %d: both ends reset %v after the signal; decisions %q", port,
		time.Since(t0).Round(time.Millisecond), res.Decisions)
	return res
}

// expectBlockedFrom is expectBlocked from a fixed source port.
func expectBlockedFrom(t *testing.T, ctx context.Context, local netip.AddrPort,
	remote string) {
	t.Helper()
	o := ProbeFrom(ctx, NSClient, local, remote, probeWait)
	if o.End != EndRefused && o.End != EndReset {
		t.Errorf("blocked %v -> %s: want refused or reset, got %v", local, remote, o)
		return
	}
	t.Logf("blocked %v -> %s: %v after %v, %d reply bytes first", local, remote, o.End,
		o.EndAt.Sub(o.Start).Round(time.Microsecond), o.Received)
}

// checkWidenedListed asserts `block list` holds the derived entry, and only
// one derived entry, and that `block explain` names the six signals.
func checkWidenedListed(t *testing.T, ctx context.Context, cli CLI, want api.Entry) {
	t.Helper()
	derived := waitDerivedHit(t, ctx, cli)
	if len(derived) != 1 || derived[0].ID != want.ID {
		t.Fatalf("block list: want only derived entry %d, got %+v", want.ID, derived)
	}
	if derived[0].Hits == 0 || derived[0].Invariants != 3 {
		t.Errorf("derived entry: want hits > 0 and 3 invariants, got %+v", derived[0])
	}
	e, err := cli.Explain(ctx, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(e.Explanation, "\n")
	if !strings.HasPrefix(text, "widened: ") {
		t.Errorf("explain %d: want a first line \"widened: ...\", got:\n%s", want.ID, text)
	}
	for i := range sigSignals {
		spec := fmt.Sprintf("signal %v %d %v %d from signal:%s ", ClientAddr, fixedSrcPort,
			ServerAddr, sigPortFirst+i, sigSource)
		if !strings.Contains(text, spec) {
			t.Errorf("explain %d lacks %q:\n%s", want.ID, spec, text)
		}
	}
	t.Logf("explain %d (%s, hits %d, expires in %s):\n%s", e.ID, e.Spec, e.Hits,
		e.ExpiresIn, text)
}

// waitDerivedHit lists the derived entries until the first shows a hit;
// the daemon reads hits from the kernel once a second.
func waitDerivedHit(t *testing.T, ctx context.Context, cli CLI) []api.Entry {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		entries, err := cli.Entries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		derived := ByOrigin(entries, OriginDerived)
		if len(derived) == 0 || derived[0].Hits > 0 || time.Now().After(deadline) {
			return derived
		}
	}
}
