package pipeline

import (
	"context"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

func TestTCPState(t *testing.T) {
	hs := handshake()
	midData := seg{src: addrS, dst: addrC, seq: 5000, ack: 1009, flags: FlagACK | FlagPSH,
		data: "uid=0(root)"}
	tests := []struct {
		name      string
		midstream bool
		in        []seg
		est       []bool // Established per event
		state     State
		client    string
	}{
		{name: "handshake", in: hs[:4], est: []bool{false, false, true, true},
			state: StateEstablished, client: addrC.String()},
		// flow:established ends with the flow: the second FIN and a RST
		// close it (Suricata's semantics; suricata-verify bug-7199).
		{name: "fin both ways closes", in: hs, est: []bool{false, false, true, true, true, true, false},
			state: StateClosed, client: addrC.String()},
		{name: "no syn, no midstream: never established", in: []seg{midData, hs[5]},
			est: []bool{false, false}, state: StateClosing, client: addrC.String()},
		{name: "midstream pickup, server port guess", midstream: true, in: []seg{midData},
			est: []bool{true}, state: StateEstablished, client: addrC.String()},
		{name: "midstream from syn-ack", midstream: true, in: hs[1:4],
			est: []bool{false, true, true}, state: StateEstablished, client: addrC.String()},
		{name: "syn-ack without syn, no midstream", in: hs[1:4],
			est: []bool{false, false, false}, state: StateNone, client: addrC.String()},
		{name: "rst closes",
			in:  append(hs[:3:3], seg{src: addrS, dst: addrC, seq: 5000, flags: FlagRST}),
			est: []bool{false, false, true, false}, state: StateClosed, client: addrC.String()},
		{name: "split handshake", in: []seg{
			{src: addrC, dst: addrS, seq: 999, flags: FlagSYN},
			{src: addrS, dst: addrC, seq: 4999, flags: FlagSYN},
			{src: addrC, dst: addrS, seq: 999, ack: 5000, flags: FlagSYN | FlagACK},
			{src: addrS, dst: addrC, seq: 5000, ack: 1000, flags: FlagACK},
		}, est: []bool{false, false, false, true}, state: StateEstablished, client: addrC.String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, tr := feed(t, Config{Midstream: tt.midstream}, tt.in)
			if len(tr.ev) != len(tt.est) {
				t.Fatalf("%d events, want %d", len(tr.ev), len(tt.est))
			}
			for i, ev := range tr.ev {
				if ev.established != tt.est[i] {
					t.Errorf("event %d established %v, want %v", i, ev.established, tt.est[i])
				}
			}
			last := tr.ev[len(tr.ev)-1]
			if last.state != tt.state || last.client.String() != tt.client {
				t.Errorf("state %v client %v, want %v %v", last.state, last.client, tt.state, tt.client)
			}
			if w.Flows() != 1 {
				t.Errorf("%d flows, want 1", w.Flows())
			}
		})
	}
}

// TestStreamsFollowHandshake checks orientation and the delivered bytes of
// both directions, including data on the SYN (TCP Fast Open).
func TestStreamsFollowHandshake(t *testing.T) {
	in := handshake()
	in[0].data = "TFO:"
	in[1].ack = 1004
	for i := 2; i < len(in); i++ {
		if in[i].src == addrC {
			in[i].seq += 4
		} else {
			in[i].ack += 4
		}
	}
	_, tr := feed(t, Config{}, in)
	var toS, toC string
	for _, ev := range tr.ev {
		nd := ev.stream[len(ev.stream)-ev.newData:]
		if ev.toServer {
			toS += nd
		} else {
			toC += nd
		}
	}
	if toS != "TFO:GET /evil" || toC != "HTTP/1.1 200" {
		t.Errorf("to server %q, to client %q", toS, toC)
	}
}

func TestFlowEviction(t *testing.T) {
	var in []seg
	for i := range 3 {
		s := handshake()[0]
		s.src = netipPort(s.src, uint16(40000+i))
		in = append(in, s)
	}
	in = append(in, seg{src: netipPort(addrC, 40000), dst: addrS, seq: 1000, ack: 1, flags: FlagACK})
	w, tr := feed(t, Config{MaxFlows: 2}, in)
	st := w.Stats()
	if st.Evictions != 2 || st.Flows != 4 || w.Flows() != 2 {
		t.Errorf("evictions %d flows %d active %d, want 2 4 2", st.Evictions, st.Flows, w.Flows())
	}
	if len(tr.ended) != 2 || tr.ended[0] != 1 || tr.ended[1] != 2 {
		t.Errorf("ended flows %v, want the two oldest [1 2]", tr.ended)
	}
}

func TestIdleTimeout(t *testing.T) {
	tr := &trace{}
	w := NewWorker(Config{TimeoutNew: 5 * time.Second, TimeoutEst: time.Minute}, 0, tr)
	send := func(s seg, at time.Duration) {
		b := ether(t, s)
		w.HandleFrame(layers.LinkTypeEthernet, b, len(b), t0.Add(at), 0)
	}
	hs := handshake()
	send(hs[0], 0)                                                             // flow 1: SYN only
	send(seg{src: netipPort(addrC, 1), dst: addrS, seq: 1, flags: FlagSYN}, 0) // flow 2
	send(seg{src: netipPort(addrC, 1), dst: addrS, seq: 1, flags: FlagSYN}, 4*time.Second)
	w.Tick(t0.Add(6 * time.Second))
	if len(tr.ended) != 1 || tr.ended[0] != 1 || w.Stats().EndTimeout != 1 {
		t.Fatalf("ended %v, want flow 1 only", tr.ended)
	}
	w.Tick(t0.Add(10 * time.Second))
	if len(tr.ended) != 2 || w.Flows() != 0 {
		t.Errorf("ended %v, %d flows left", tr.ended, w.Flows())
	}
}

func TestReopenAfterClose(t *testing.T) {
	in := handshake()
	in = append(in, seg{src: addrC, dst: addrS, seq: 7000, flags: FlagSYN})
	w, tr := feed(t, Config{}, in)
	if st := w.Stats(); st.EndReuse != 1 || st.Flows != 2 || len(tr.ended) != 1 {
		t.Errorf("reuse %d flows %d ended %v, want 1 2 [1]", st.EndReuse, st.Flows, tr.ended)
	}
}

// TestRunLive feeds each shard its own flow, as the kernel rings do, with
// snapshots truncated to 60 bytes.
func TestRunLive(t *testing.T) {
	recs := make([]*trace, 2)
	p := New(Config{Workers: 2}, func(i int) Inspector {
		recs[i] = &trace{}
		return recs[i]
	})
	feed := func(ctx context.Context, shard int, fn func([]byte, int)) error {
		for _, s := range handshake()[:4] {
			s.src = netipPort(s.src, s.src.Port()+uint16(shard))
			s.dst = netipPort(s.dst, s.dst.Port()+uint16(shard))
			b := ether(t, s)
			fn(b[:min(len(b), 60)], len(b))
		}
		return ctx.Err()
	}
	if err := p.RunLive(context.Background(), feed); err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	if st.Handshakes != 2 || st.Flows != 2 || st.TruncBytes != 2*(9-6) || st.ActiveFlows != 0 {
		t.Errorf("stats %+v", st)
	}
	for i, r := range recs {
		if len(r.ev) != 4 || r.ev[3].stream != "GET /e" || !r.ev[3].gap {
			t.Errorf("shard %d: events %+v", i, r.ev)
		}
	}
}

// TestFlushHeldAtFlowEnd: bytes held behind a hole that is never filled
// reach the Inspector when the flow ends, marked as a gap.
func TestFlushHeldAtFlowEnd(t *testing.T) {
	in := handshake()[:3]
	in = append(in, seg{src: addrC, dst: addrS, seq: 1004, ack: 5000, flags: FlagACK,
		data: "/evil"}) // bytes 1000..1003 never arrive
	w, tr := feed(t, Config{}, in)
	if n := len(tr.ev); n != 4 || tr.ev[3].newData != 0 {
		t.Fatalf("%d events before close, last %+v", n, tr.ev[n-1])
	}
	w.Close()
	last := tr.ev[len(tr.ev)-1]
	if len(tr.ev) != 5 || last.stream != "/evil" || !last.gap || !last.toServer {
		t.Errorf("flush event %+v", last)
	}
	if st := w.Stats(); st.Gaps != 1 || st.GapBytes != 4 || st.HeldBytes != 0 {
		t.Errorf("gaps %d gap bytes %d held %d", st.Gaps, st.GapBytes, st.HeldBytes)
	}
}
