package kernel

import (
	"net/netip"
	"os"
	"reflect"
	"testing"
	"time"
)

// TestClassify runs single frames through the classifier against one block
// table and checks which entry (if any) matched and what the parser counted.
func TestClassify(t *testing.T) {
	c := load(t, Options{RateBurst: 1000})
	setBlocks(t, c,
		"0.0.0.0/0 0 198.51.100.20/32 443",          // 100: any client to S:443
		"203.0.113.0/24 0 198.51.100.30/32 0",       // 101: /24 to a host, any port
		"198.51.100.40/32 0 198.51.100.41/32 0",     // 102: two hosts, any ports
		"2001:db8::10/128 0 2001:db8::20/128 443",   // 103: IPv6 pair
		"198.51.100.50/32 7000 198.51.100.51/32 80", // 104: all four fixed
	)
	v4 := func(src, dst string, sport, dport uint16) frame {
		return frame{src: src, dst: dst, sport: sport, dport: dport, flags: "A", seq: 1}
	}
	v6 := frame{src: "2001:db8::10", dst: "2001:db8::20", sport: 51000, dport: 443,
		flags: "S", seq: 7000}
	tagged := func(f frame, vids ...uint16) frame { f.vlans = vids; return f }
	udp := func(f frame) frame { f.udp = true; return f }
	cases := []struct {
		name    string
		f       frame
		entry   uint64 // 0: must not match
		counter string // parse outcome that must move
	}{
		{"forward", cToS(), 100, "tcp"},
		{"reverse", cToS().reversed(), 100, "tcp"},
		{"other server", v4("203.0.113.10", "198.51.100.21", 51000, 443), 0, "tcp"},
		{"other port", v4("203.0.113.10", "198.51.100.20", 51000, 444), 0, "tcp"},
		{"prefix /24 low", v4("203.0.113.1", "198.51.100.30", 1, 2), 101, "tcp"},
		{"prefix /24 high reversed", v4("198.51.100.30", "203.0.113.254", 9, 8), 101, "tcp"},
		{"outside /24", v4("203.0.114.1", "198.51.100.30", 1, 2), 0, "tcp"},
		{"wildcard ports", v4("198.51.100.41", "198.51.100.40", 33, 44), 102, "tcp"},
		{"four fixed", v4("198.51.100.50", "198.51.100.51", 7000, 80), 104, "tcp"},
		{"four fixed reversed", v4("198.51.100.51", "198.51.100.50", 80, 7000), 104, "tcp"},
		{"four fixed wrong sport", v4("198.51.100.50", "198.51.100.51", 7001, 80), 0, "tcp"},
		{"ipv6", v6, 103, "tcp"},
		{"ipv6 reversed", v6.reversed(), 103, "tcp"},
		{"ipv6 other port", frame{src: "2001:db8::10", dst: "2001:db8::20", sport: 1,
			dport: 80, flags: "A"}, 0, "tcp"},
		{"802.1Q", tagged(cToS(), 100), 100, "tcp"},
		{"QinQ", tagged(cToS(), 300, 100), 100, "tcp"},
		{"QinQ ipv6", tagged(v6, 7, 8), 103, "tcp"},
		{"three tags", tagged(cToS(), 1, 2, 3), 0, "vlan_depth"},
		{"udp same tuple", udp(cToS()), 0, "non_tcp"},
		{"udp ipv6", udp(v6), 0, "non_tcp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			delta := run(t, c, tc.f.bytes(t))
			if delta[tc.counter] != 1 {
				t.Errorf("counter %q moved by %d, want 1 (all: %v)", tc.counter,
					delta[tc.counter], delta)
			}
			reqs := drainInjects(t, c)
			if tc.entry == 0 {
				if delta["matched"] != 0 || len(reqs) != 0 {
					t.Fatalf("matched (%v), want no match; requests %+v", delta, reqs)
				}
				return
			}
			if delta["matched"] != 1 || len(reqs) != 1 {
				t.Fatalf("matched %d, %d requests; want 1 and 1", delta["matched"], len(reqs))
			}
			if reqs[0].EntryID != tc.entry {
				t.Errorf("entry %d, want %d", reqs[0].EntryID, tc.entry)
			}
		})
	}
}

// TestTruncated cuts frames short inside each header: none may match, and
// each must be counted as truncated.
func TestTruncated(t *testing.T) {
	c := load(t, Options{})
	setBlocks(t, c, "0.0.0.0/0 0 198.51.100.20/32 443", "2001:db8::10/128 0 ::/0 0")
	v4 := cToS().bytes(t)
	tagged := cToS()
	tagged.vlans = []uint16{300, 100}
	qinq := tagged.bytes(t)
	v6 := frame{src: "2001:db8::10", dst: "2001:db8::20", sport: 1, dport: 2, flags: "S",
		hopByHop: true}.bytes(t)
	cases := []struct {
		name string
		data []byte
	}{
		{"ethernet only", v4[:14]},
		{"inside ipv4", v4[:14+12]},
		{"inside tcp", v4[:14+20+10]},
		{"inside tcp options", optionsFrame(t)[:14+20+22]},
		{"inside vlan tag", qinq[:14+2]},
		{"inside ipv6", v6[:14+30]},
		{"inside hop-by-hop", v6[:14+40+4]},
		{"inside tcp after hop-by-hop", v6[:14+40+8+12]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			delta := run(t, c, tc.data)
			if delta["truncated"] != 1 || delta["matched"] != 0 || delta["tcp"] != 0 {
				t.Errorf("counters moved %v, want truncated only", delta)
			}
			if reqs := drainInjects(t, c); len(reqs) != 0 {
				t.Errorf("%d inject requests from a truncated frame", len(reqs))
			}
		})
	}
}

// optionsFrame is cToS with 12 bytes of TCP options (NOP, NOP, timestamp).
func optionsFrame(t *testing.T) []byte {
	t.Helper()
	b := cToS().bytes(t)
	tcp := b[14+20:]
	opts := []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}
	out := append([]byte{}, b[:14+20+20]...)
	out = append(out, opts...)
	out = append(out, tcp[20:]...)
	out[14+20+12] = 8 << 4 // data offset: 32 bytes
	out[14+2], out[14+3] = byte((len(out)-14)>>8), byte(len(out)-14)
	return out
}

// TestTCPOptions checks that payload length accounts for TCP options.
func TestTCPOptions(t *testing.T) {
	c := load(t, Options{})
	setBlocks(t, c, "0.0.0.0/0 0 198.51.100.20/32 443")
	run(t, c, optionsFrame(t))
	reqs := drainInjects(t, c)
	if len(reqs) != 1 || reqs[0].PayloadLen != 100 {
		t.Fatalf("requests %+v, want one with payload 100", reqs)
	}
}

// TestInjectRequest reads back every field of a request for a QinQ frame.
func TestInjectRequest(t *testing.T) {
	c := load(t, Options{})
	setBlocks(t, c, "0.0.0.0/0 0 198.51.100.20/32 443")
	f := cToS()
	f.vlans = []uint16{300, 100}
	run(t, c, f.bytes(t))
	reqs := drainInjects(t, c)
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	want := InjectRequest{
		Src: netip.MustParseAddr("203.0.113.10"), Dst: netip.MustParseAddr("198.51.100.20"),
		SrcPort: 51000, DstPort: 443, Seq: 1000, Ack: 5000, Flags: 0x18, Window: 502,
		PayloadLen: 100, TTL: 61, SrcMAC: [6]byte(macC), DstMAC: [6]byte(macS),
		EntryID: 100, Time: r.Time,
	}
	if len(r.VLANs) != 2 || r.VLANs[0] != 300 || r.VLANs[1] != 100 {
		t.Errorf("VLANs %v, want [300 100]", r.VLANs)
	}
	r.VLANs = nil
	if !reflect.DeepEqual(r, want) {
		t.Errorf("request\n got %+v\nwant %+v", r, want)
	}
	if r.Time.IsZero() {
		t.Error("request time is zero")
	}
}

// TestRSTNeverAnswered: a matching RST (ours, seen again on the mirror)
// counts as a hit but raises no inject request.
func TestRSTNeverAnswered(t *testing.T) {
	c := load(t, Options{})
	setBlocks(t, c, "0.0.0.0/0 0 198.51.100.20/32 443")
	for _, flags := range []string{"R", "RA"} {
		f := cToS()
		f.flags, f.payload = flags, 0
		delta := run(t, c, f.reversed().bytes(t))
		if delta["matched"] != 1 || delta["rst_ignored"] != 1 || delta["inject_queued"] != 0 {
			t.Errorf("flags %s: counters %v, want matched and rst_ignored", flags, delta)
		}
	}
	if reqs := drainInjects(t, c); len(reqs) != 0 {
		t.Errorf("%d requests for RSTs, want 0", len(reqs))
	}
	hits, err := c.Hits()
	if err != nil {
		t.Fatal(err)
	}
	if hits[100].Hits != 2 {
		t.Errorf("hits %d, want 2", hits[100].Hits)
	}
}

// TestRateLimit: a burst of matching segments of one flow, in both
// directions, raises at most RateBurst requests; another flow has its own.
func TestRateLimit(t *testing.T) {
	c := load(t, Options{RateBurst: 3, RateIntervalNS: 4_000_000_000})
	setBlocks(t, c, "0.0.0.0/0 0 198.51.100.20/32 443")
	for i := range 10 {
		f := cToS()
		if i%2 == 1 {
			f = f.reversed()
		}
		run(t, c, f.bytes(t))
	}
	other := cToS()
	other.sport = 51001
	run(t, c, other.bytes(t))
	m := counters(t, c)
	if m["matched"] != 11 || m["inject_queued"] != 4 || m["rate_limited"] != 7 {
		t.Errorf("matched %d queued %d limited %d, want 11, 4, 7",
			m["matched"], m["inject_queued"], m["rate_limited"])
	}
	if reqs := drainInjects(t, c); len(reqs) != 4 {
		t.Errorf("%d requests, want 4", len(reqs))
	}
}

// TestRateLimitKeepsNewest: a request refused for want of a token is not
// lost. The newest one of each direction waits in the flow's bucket and its
// timer sends it when a token is due, so the last segment of a flow (the
// ACK whose numbers the final reset needs) always reaches the injector.
func TestRateLimitKeepsNewest(t *testing.T) {
	c := load(t, Options{RateBurst: 2, RateIntervalNS: 30_000_000})
	setBlocks(t, c, "0.0.0.0/0 0 198.51.100.20/32 443")
	for i := range 6 {
		f := cToS()
		f.seq, f.ack = 1000+uint32(i)*100, 5000+uint32(i)
		if i%2 == 1 {
			f = f.reversed()
		}
		run(t, c, f.bytes(t))
	}
	if m := counters(t, c); m["inject_queued"] != 2 || m["rate_limited"] != 4 {
		t.Fatalf("queued %d limited %d, want 2 and 4", m["inject_queued"], m["rate_limited"])
	}
	deadline := time.Now().Add(2 * time.Second)
	for counters(t, c)["inject_deferred"] < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	reqs := drainInjects(t, c)
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 2 at once and 2 deferred", len(reqs))
	}
	seqs := map[uint32]bool{reqs[2].Seq: true, reqs[3].Seq: true}
	if !seqs[1400] || !seqs[1500] {
		t.Errorf("deferred requests carry seq %d and %d, want the newest of each "+
			"direction (1400 and 1500)", reqs[2].Seq, reqs[3].Seq)
	}
}

// TestInjectRingFull: requests beyond a full inject ring are counted as
// lost, never silently dropped.
func TestInjectRingFull(t *testing.T) {
	c := load(t, Options{InjectRingSize: uint32(os.Getpagesize())})
	setBlocks(t, c, "0.0.0.0/0 0 198.51.100.20/32 443")
	const flows = 100
	for i := range flows {
		f := cToS()
		f.sport = uint16(20000 + i)
		run(t, c, f.bytes(t))
	}
	m := counters(t, c)
	if m["inject_full"] == 0 || m["inject_queued"]+m["inject_full"] != flows {
		t.Errorf("queued %d + full %d, want some full and %d in all",
			m["inject_queued"], m["inject_full"], flows)
	}
	if n := len(drainInjects(t, c)); uint64(n) != m["inject_queued"] {
		t.Errorf("%d requests in the ring, want %d", n, m["inject_queued"])
	}
}
