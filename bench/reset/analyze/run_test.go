package main

import (
	"net/netip"
	"testing"
)

var (
	cli = netip.MustParseAddrPort("198.51.100.7:40000")
	srv = netip.MustParseAddrPort("203.0.113.10:8080")
)

// seg builds a segment at time ms (in ms) from a to b.
func seg(ms int64, from, to netip.AddrPort, seq, ack uint32, flags string, payload int) segment {
	s := segment{ns: ms * 1e6, src: from, dst: to, seq: seq, ack: ack, payload: payload}
	for _, f := range flags {
		switch f {
		case 'S':
			s.syn = true
		case 'F':
			s.fin = true
		case 'R':
			s.rst = true
		case 'A':
			s.ackF = true
		}
	}
	return s
}

// clientCapture: handshake, data both ways, block at 100 ms, a trigger at
// 110 ms, then an inexact RST answered by a challenge ACK and an exact one.
func clientCapture() []segment {
	return []segment{
		seg(0, cli, srv, 1000, 0, "S", 0),
		seg(1, srv, cli, 5000, 1001, "SA", 0),
		seg(2, cli, srv, 1001, 5001, "A", 0),
		seg(50, cli, srv, 1001, 5001, "A", 16),
		seg(51, srv, cli, 5001, 1017, "A", 16), // client's rcv_nxt 5017
		seg(110, cli, srv, 1017, 5017, "A", 16),
		seg(111, srv, cli, 5017, 1033, "A", 16), // after the trigger: 16 bytes through
		seg(120, srv, cli, 9999, 0, "R", 0),     // inexact: challenge expected
		seg(121, cli, srv, 1033, 5033, "A", 0),  // the challenge ACK
		seg(125, srv, cli, 5033, 0, "R", 0),     // exact
	}
}

func serverCapture() []segment {
	return []segment{
		seg(0, cli, srv, 1000, 0, "S", 0),
		seg(110, cli, srv, 1017, 5017, "A", 16), // server's rcv_nxt 1033
		seg(122, cli, srv, 1033, 0, "R", 0),     // exact at once
	}
}

func TestAnalyzeRun(t *testing.T) {
	in := runInput{Tool: "tcpkill", Mode: "interactive", BlockNs: 100e6,
		Client: cli.Addr(), Server: srv.Addr(), Port: 8080,
		ClientSegs: clientCapture(), ServerSegs: serverCapture(),
		SensorSegs: []segment{seg(119, srv, cli, 9999, 0, "R", 0),
			seg(121, cli, srv, 1033, 0, "R", 0), seg(124, srv, cli, 5033, 0, "R", 0)},
		ClientEnd: endReport{End: "reset", EndNs: 126e6},
		ServerEnd: endReport{End: "reset", EndNs: 123e6}}
	got := analyzeRun(in)
	want := runResult{Tool: "tcpkill", Mode: "interactive", BothReset: true, ResetMs: 16,
		RSTSent: 3, RSTReceived: 3, BytesThrough: 16, ChallengeACKs: 1, ExactFirst: 1}
	if got != want {
		t.Errorf("analyzeRun:\n got %+v\nwant %+v", got, want)
	}
}

// TestTriggerAfterReady: the clock starts at the first packet after the
// blocker said it was ready, unless the reset had already happened.
func TestTriggerAfterReady(t *testing.T) {
	in := runInput{BlockNs: 100e6, ReadyNs: 110500000, Port: 8080,
		ClientEnd: endReport{End: "reset", EndNs: 126e6},
		ServerEnd: endReport{End: "reset", EndNs: 123e6}}
	cs := in.conn(clientCapture())
	if t0, _ := in.trigger(cs, nil); t0 != 111e6 {
		t.Errorf("trigger = %d, want the packet at 111 ms", t0)
	}
	in.ReadyNs = 200e6 // said ready only after both ends were reset
	if t0, _ := in.trigger(cs, nil); t0 != 110e6 {
		t.Errorf("late ready: trigger = %d, want the first packet after the block", t0)
	}
}

func TestAnalyzeRunOneSideSurvives(t *testing.T) {
	in := runInput{Tool: "softips", Mode: "bulk", BlockNs: 100e6, Client: cli.Addr(),
		Server: srv.Addr(), Port: 8080, ClientSegs: clientCapture(),
		ServerSegs: serverCapture(), ClientEnd: endReport{End: "timeout"},
		ServerEnd: endReport{End: "reset", EndNs: 123e6}}
	got := analyzeRun(in)
	if got.BothReset || got.ResetMs != 0 || got.Note == "" {
		t.Errorf("one side survived, got %+v", got)
	}
}

func TestAnalyzeRunNothingAfterBlock(t *testing.T) {
	in := runInput{BlockNs: 1e12, Client: cli.Addr(), Server: srv.Addr(), Port: 8080,
		ClientSegs: clientCapture()}
	if got := analyzeRun(in); got.Note != "no packet of the connection after the block" {
		t.Errorf("got %+v", got)
	}
}

// TestChallengeNeedsUnchangedAck: an ACK that moved on, or came too late,
// is not a challenge ACK.
func TestChallengeNeedsUnchangedAck(t *testing.T) {
	segs := []segment{
		seg(0, srv, cli, 5000, 1001, "SA", 0),
		seg(120, srv, cli, 9999, 0, "R", 0),
		seg(121, cli, srv, 1001, 4242, "A", 0), // ack is not the receive point
		seg(140, cli, srv, 1001, 5001, "A", 0), // too late
		seg(150, srv, cli, 9999, 0, "R", 0),
		seg(150, srv, cli, 5001, 1001, "A", 10), // data arrives first
		seg(150, cli, srv, 1001, 5011, "A", 0),  // so this ACK answers the data
	}
	if v := view(segs, cli.Addr(), 100e6, 110e6, 0); v.challenges != 0 || v.rstIn != 2 {
		t.Errorf("view = %+v, want 2 RSTs and no challenge", v)
	}
}

func TestSummarize(t *testing.T) {
	runs := []runResult{
		{Tool: "tcpkill", Mode: "interactive", BothReset: true, ResetMs: 30, RSTSent: 18,
			ChallengeACKs: 1},
		{Tool: "tcpkill", Mode: "interactive", BothReset: true, ResetMs: 10, RSTSent: 9},
		{Tool: "tcpkill", Mode: "interactive", BothReset: true, ResetMs: 20, RSTSent: 9},
		{Tool: "tcpkill", Mode: "interactive", Note: "client ended \"timeout\""},
	}
	rows := summarize(runs)
	find := func(key string) float64 {
		for _, r := range rows {
			if r.Key == key {
				return r.Value
			}
		}
		t.Fatalf("no row %q", key)
		return 0
	}
	if got := find("tcpkill/interactive/median_ms"); got != 20 {
		t.Errorf("median = %v, want 20", got)
	}
	if got := find("tcpkill/interactive/rst_sent"); got != 9 {
		t.Errorf("rst median = %v, want 9", got)
	}
	if got := find("tcpkill/all/challenge_acks"); got != 1 {
		t.Errorf("challenge ACKs = %v, want 1", got)
	}
}
