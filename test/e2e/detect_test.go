//go:build linux

package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Issue 4 scenario: one drop rule, one alert-only rule.
const (
	sidDrop     = 1000001
	sidAlert    = 1000002
	detectRules = `drop tcp any any -> any 80 (msg:"e2e evil uri"; ` +
		`flow:to_server,established; content:"/evil"; sid:1000001; rev:1;)
alert tcp any any -> any 80 (msg:"e2e watched uri"; ` +
		`flow:to_server,established; content:"/watched"; sid:1000002; rev:1;)
`
	reqHarmless = "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"
	reqEvil     = "GET /evil HTTP/1.1\r\nHost: x\r\n\r\n"
	reqWatched  = "GET /watched HTTP/1.1\r\nHost: x\r\n\r\n"
	routerMgmt  = "mgt0" // the router's end of the management link
	detectWait  = 2 * time.Second
)

// TestDetectDropResetsBothEnds: a client talks HTTP-like text to the echo
// server on 203.0.113.10:80. A harmless request passes; a request for
// /evil matches drop rule 1000001 live, and the connection is reset on
// both ends. The frames are on the wire (F9): the router's management
// port sees a RST each way and reset_frames_sent moves by at least two;
// the table holds a detector entry for the 4-tuple and EVE the alert. A
// request matching only alert rule 1000002 is logged but its connection
// lives on and no RST for it crosses the management link.
func TestDetectDropResetsBothEnds(t *testing.T) {
	srv := requireLab(t)
	dir := t.TempDir()
	rules, eve := filepath.Join(dir, "e2e.rules"), filepath.Join(dir, "eve.json")
	if err := os.WriteFile(rules, []byte(detectRules), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, "", "--rules", rules, "--eve", eve)
	ctx, cancel := context.WithTimeout(t.Context(), scenarioBudget)
	defer cancel()
	mgt, err := StartCapture(NSRouter, routerMgmt, 2000, scenarioBudget)
	if err != nil {
		t.Fatal(err)
	}
	sent0 := statCounter(t, ctx, d.CLI(), "reset_frames_sent")

	flow := detectDrop(t, ctx, srv)
	checkDropEvidence(t, ctx, d, eve, flow, mgt, sent0)

	watched := detectAlertOnly(t, ctx, srv, eve)
	if n := rstCount(mgt.Segments(), watched); n != [2]int{} {
		t.Errorf("alert-only flow %v: RSTs on %s (to server, to client) = %v, want none",
			watched, routerMgmt, n)
	}
	entries, err := d.CLI().Entries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec := fmt.Sprintf("%v %d %v 80", watched.Addr(), watched.Port(), ServerAddr)
	if e, ok := FindEntry(entries, spec); ok {
		t.Errorf("alert-only flow got a block entry: %+v", e)
	}
}

// detectDrop runs the dropped conversation and returns its client address.
func detectDrop(t *testing.T, ctx context.Context, srv *Server) netip.AddrPort {
	t.Helper()
	talk := mustTalk(t, ctx, ClientAddr.String(), fmt.Sprintf("%v:80", ServerAddr),
		"client-http")
	defer talk.Close()
	peer := mustPeer(t, srv, talk.Endpoint())
	harmless := append([]byte{ModeEcho}, reqHarmless...)
	if err := talk.Send(harmless); err != nil {
		t.Fatal(err)
	}
	if _, err := talk.Expect(len(reqHarmless), detectWait); err != nil {
		t.Fatalf("harmless request: %v", err)
	}

	t0 := time.Now()
	if err := talk.Send([]byte(reqEvil)); err != nil {
		t.Fatal(err)
	}
	client := talk.Hold(detectWait)
	server, _ := peer.Wait(time.Until(t0.Add(detectWait)))
	for _, o := range []Outcome{client, server} {
		if o.End != EndReset {
			t.Errorf("%s: want a reset within %v of /evil, got %v", o.Label, detectWait, o)
			continue
		}
		t.Logf("%s %v: reset %v after /evil (recv %d bytes)", o.Label, o.Local,
			o.EndAt.Sub(t0).Round(time.Microsecond), o.Received)
	}
	return client.Local
}

// checkDropEvidence asserts the table entry, the EVE alert, the RSTs on the
// management link and the sent counter for the dropped flow.
func checkDropEvidence(t *testing.T, ctx context.Context, d *Daemon, eve string,
	flow netip.AddrPort, mgt *Capturer, sent0 uint64) {
	t.Helper()
	spec := fmt.Sprintf("%v %d %v 80", flow.Addr(), flow.Port(), ServerAddr)
	entries, err := d.CLI().Entries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := FindEntry(entries, spec); !ok || e.Origin != OriginDetector {
		t.Errorf("block list lacks detector entry %q: %+v", spec, entries)
	}
	if _, err := WaitEVE(eve, detectWait, alertFor(sidDrop, flow)); err != nil {
		t.Errorf("drop alert sid %d: %v", sidDrop, err)
	}
	n := waitRSTs(mgt, flow, detectWait)
	if n[0] < 1 || n[1] < 1 {
		t.Errorf("flow %v: RSTs on %s (to server, to client) = %v, want >= 1 each way",
			flow, routerMgmt, n)
	}
	sent := statCounter(t, ctx, d.CLI(), "reset_frames_sent") - sent0
	if sent < 2 {
		t.Errorf("reset_frames_sent moved by %d, want >= 2", sent)
	}
	t.Logf("flow %v: %v RSTs on %s (to server, to client); reset_frames_sent +%d", flow,
		n, routerMgmt, sent)
}

// detectAlertOnly sends a request matching only the alert rule and checks
// the connection lives on; it returns the flow's client address.
func detectAlertOnly(t *testing.T, ctx context.Context, srv *Server,
	eve string) netip.AddrPort {
	t.Helper()
	talk := mustTalk(t, ctx, ClientAddr.String(), fmt.Sprintf("%v:80", ServerAddr),
		"client-watched")
	defer talk.Close()
	peer := mustPeer(t, srv, talk.Endpoint())
	if err := talk.Send(append([]byte{ModeEcho}, reqWatched...)); err != nil {
		t.Fatal(err)
	}
	if _, err := talk.Expect(len(reqWatched), detectWait); err != nil {
		t.Fatalf("watched request: %v", err)
	}
	flow := talk.Endpoint().Snapshot().Local
	if _, err := WaitEVE(eve, detectWait, alertFor(sidAlert, flow)); err != nil {
		t.Errorf("alert sid %d: %v", sidAlert, err)
	}
	time.Sleep(500 * time.Millisecond) // room for a wrong reset to arrive
	if err := talk.Send([]byte(reqHarmless)); err != nil {
		t.Fatalf("after the alert: %v", err)
	}
	if _, err := talk.Expect(len(reqHarmless), detectWait); err != nil {
		t.Errorf("after the alert the connection broke: %v", err)
	}
	if o := peer.Snapshot(); o.End != EndNone {
		t.Errorf("alert-only: server side ended: %v", o)
	}
	return flow
}

// alertFor matches the EVE alert of sid on the flow from client.
func alertFor(sid int64, client netip.AddrPort) func(EVERecord) bool {
	return func(r EVERecord) bool {
		port, _ := r["src_port"].(float64)
		return r.EventType() == "alert" && r.SignatureID() == sid &&
			r["src_ip"] == client.Addr().String() && int(port) == int(client.Port())
	}
}

// rstCount counts RST segments of the flow from client to ServerAddr:80,
// as [to the server, to the client].
func rstCount(segs []Segment, client netip.AddrPort) [2]int {
	server := netip.AddrPortFrom(ServerAddr, 80)
	var n [2]int
	for _, s := range segs {
		switch {
		case !s.Has(FlagRST):
		case s.Src == client && s.Dst == server:
			n[0]++
		case s.Src == server && s.Dst == client:
			n[1]++
		}
	}
	return n
}

// waitRSTs polls the capture until it holds a RST each way for the flow
// or wait passes.
func waitRSTs(c *Capturer, client netip.AddrPort, wait time.Duration) [2]int {
	deadline := time.Now().Add(wait)
	for {
		n := rstCount(c.Segments(), client)
		if n[0] > 0 && n[1] > 0 || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// statCounter reads one counter of `softips stats --json`.
func statCounter(t *testing.T, ctx context.Context, cli CLI, name string) uint64 {
	t.Helper()
	st, err := cli.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := st[name]
	if !ok {
		t.Fatalf("stats lack %q", name)
	}
	return v
}
