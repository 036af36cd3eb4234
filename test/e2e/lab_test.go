//go:build linux

package e2e

import (
	"context"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Largest frame the mirror may carry with offloads off: 1500 + Ethernet.
const maxWireFrame = 1514

func TestLabStatus(t *testing.T) {
	requireLab(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	out, err := suite.lab.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sips-client:", "sips-server:", "sips-router:",
		"sips-sensor:", "mon0", "mgmt0", "203.0.113.226/28"} {
		if !strings.Contains(out, want) {
			t.Errorf("lab status lacks %q:\n%s", want, out)
		}
	}
}

// TestLabUpRepairs breaks the lab in the ways an interrupted run or a
// careless hand can, and expects a second `up` to restore it.
func TestLabUpRepairs(t *testing.T) {
	requireLab(t)
	tests := []struct {
		name     string
		breakCmd []string
	}{
		{"nothing broken", nil},
		{"management veth deleted", []string{"ip", "-n", NSRouter, "link", "del", "mgt0"}},
		{"sensor namespace deleted", []string{"ip", "netns", "del", NSSensor}},
		{"hub port detached", []string{"ip", "-n", NSRouter, "link", "set", "hub-m", "nomaster"}},
		{"span drop removed", []string{"ip", "netns", "exec", NSRouter, "tc", "qdisc", "del",
			"dev", "hub-m", "clsact"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			if tt.breakCmd != nil {
				out, err := exec.CommandContext(ctx, tt.breakCmd[0], tt.breakCmd[1:]...).CombinedOutput()
				if err != nil {
					t.Fatalf("%v: %v: %s", tt.breakCmd, err, out)
				}
			}
			if err := suite.lab.Up(ctx); err != nil {
				t.Fatal(err)
			}
			if out, err := suite.lab.Status(ctx); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			out, err := Run(ctx, NSRouter, "tc", "filter", "show", "dev", "hub-m", "ingress")
			if err != nil || !strings.Contains(string(out), "direct-action") {
				t.Errorf("span drop filter missing on hub-m: %v %s", err, out)
			}
			out, err = Run(ctx, NSRouter, "ip", "-d", "link", "show", "hub-m")
			if err != nil || !strings.Contains(string(out), "master br0") {
				t.Errorf("hub-m is not a port of br0: %v %s", err, out)
			}
		})
	}
}

func TestClientServerEcho(t *testing.T) {
	srv := requireLab(t)
	tests := []struct {
		name, local, remote string
	}{
		{"v4 client to :80", "198.51.100.7", "203.0.113.10:80"},
		{"v4 unblocked host to :8080", "198.51.100.8", "203.0.113.10:8080"},
		{"v6 client to :80", "2001:db8:1::7", "[2001:db8:2::10]:80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Probe(t.Context(), NSClient, tt.local, tt.remote, 2*time.Second)
			if o.Received != int64(len(probeMsg)) {
				t.Fatalf("probe got %d of %d echo bytes: %v", o.Received,
					len(probeMsg), o)
			}
			if o.Local.Addr() != netip.MustParseAddr(tt.local) {
				t.Errorf("probe left from %v, want %s", o.Local, tt.local)
			}
			peer, err := srv.Peer(o.Local, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if got := peer.Snapshot().Received; got != int64(len(probeMsg)+1) {
				t.Errorf("server read %d bytes, want %d", got, len(probeMsg)+1)
			}
		})
	}
}

// TestMirrorSeesBothDirections proves the hub: the sensor's mon0 carries
// both directions of a client-server flow, wire-sized, checksums valid.
func TestMirrorSeesBothDirections(t *testing.T) {
	requireLab(t)
	tests := []struct {
		name, local, remote string
	}{
		{"v4", "198.51.100.7", "203.0.113.10:80"},
		{"v6", "2001:db8:1::7", "[2001:db8:2::10]:80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			capt, err := StartCapture(NSSensor, MonitorIface, 4000, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			local := runShortFlows(t, tt.local, tt.remote)
			if err := capt.Wait(); err != nil {
				t.Fatal(err)
			}
			checkMirrored(t, capt.Segments(), local, netip.MustParseAddrPort(tt.remote))
		})
	}
}

// runShortFlows runs a short interactive exchange and a short bulk read
// from local to remote; it returns the interactive client's address.
func runShortFlows(t *testing.T, local, remote string) netip.AddrPort {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	inter, err := Interactive(ctx, NSClient, local, remote, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	bulk, err := Bulk(ctx, NSClient, local, remote)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	for _, ep := range []*Endpoint{inter, bulk} {
		o, _ := ep.Wait(time.Second)
		if o.Received == 0 || o.End != EndStopped {
			t.Errorf("flow did not run cleanly: %v", o)
		}
	}
	return inter.Snapshot().Local
}

func checkMirrored(t *testing.T, segs []Segment, client, server netip.AddrPort) {
	t.Helper()
	var toServer, toClient, bad, big, syn int
	for _, s := range segs {
		switch {
		case s.Src == client && s.Dst == server:
			toServer++
			if s.Has(FlagSYN) {
				syn++
			}
		case s.Src == server && s.Dst == client:
			toClient++
		}
		if !s.ChecksumOK {
			bad++
		}
		if s.FrameLen > maxWireFrame {
			big++
		}
	}
	t.Logf("mirror: %d TCP frames, %d client->server, %d server->client", len(segs),
		toServer, toClient)
	if toServer < 3 || toClient < 3 || syn != 1 {
		t.Errorf("mirror saw %d client->server (SYN %d) and %d server->client frames of %v",
			toServer, syn, toClient, client)
	}
	if bad != 0 || big != 0 {
		t.Errorf("mirror saw %d frames with bad checksums and %d over %d bytes", bad, big,
			maxWireFrame)
	}
}

// TestInjectionPaths checks the two halves of the RST path: a frame the
// sensor sends out of mgmt0, spoofed from the client, reaches the server
// through the router; the same frame sent into the mirror port is dropped.
func TestInjectionPaths(t *testing.T) {
	requireLab(t)
	tests := []struct {
		name   string
		iface  string
		dstMAC string
		seq    uint32
		want   bool
	}{
		{"mgmt0 via the router", InjectIface, MACRouterMgmt, 0x50f7a001, true},
		{"mon0 into the span port", MonitorIface, MACServer, 0x50f7a002, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			capt, err := StartCapture(NSServer, "net0", 1000, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			src := netip.AddrPortFrom(ClientAddr, 40009)
			// To a closed port: the RST changes nothing on the server.
			dst := netip.AddrPortFrom(ServerAddr, 9)
			frame := BuildRST(mustMAC(MACSensorMgmt), mustMAC(tt.dstMAC), src, dst,
				tt.seq, 0, FlagRST)
			if err := SendFrame(NSSensor, tt.iface, frame); err != nil {
				t.Fatal(err)
			}
			_, seen := capt.WaitFor(time.Second, func(s Segment) bool {
				return s.Src == src && s.Seq == tt.seq && s.Has(FlagRST) &&
					s.ChecksumOK
			})
			if seen != tt.want {
				t.Errorf("server saw the spoofed RST: %v, want %v", seen, tt.want)
			}
		})
	}
}

func mustMAC(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

// TestLabSpoofedRSTResetsBothEnds plays a minimal injector by hand: it takes
// the last server->client segment of an interactive flow from the mirror,
// sends the two RSTs DESIGN.md §7 prescribes out of mgmt0, and expects both
// applications to see "connection reset by peer". It proves the RST path
// and the harness's reset reporting before the daemon exists.
func TestLabSpoofedRSTResetsBothEnds(t *testing.T) {
	srv := requireLab(t)
	capt, err := StartCapture(NSSensor, MonitorIface, 2000, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	client, err := Interactive(ctx, NSClient, "198.51.100.7", "203.0.113.10:80",
		100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	server, err := srv.Peer(client.Snapshot().Local, time.Second)
	if err != nil {
		t.Fatal(err)
	}

	tx, err := OpenSender(NSSensor, InjectIface)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()

	t0 := injectAfterEcho(t, client, capt, tx)
	for _, ep := range []*Endpoint{client, server} {
		o, ended := ep.Wait(time.Second)
		if !ended || o.End != EndReset {
			t.Errorf("%s: want reset within 1s, got %v", o.Label, o)
			continue
		}
		t.Logf("%s reset %v after injection", o.Label, o.EndAt.Sub(t0))
	}
}

// injectAfterEcho waits for an echo to reach the client, finds it on the
// mirror and resets the flow from it while the client is between writes.
// It retries when a write slipped in, and returns when the RSTs left.
func injectAfterEcho(t *testing.T, client *Endpoint, capt *Capturer, tx *Sender) time.Time {
	t.Helper()
	for try := 2; try < 7; try++ {
		o := waitReceived(t, client, int64(try*len(probeMsg)))
		seg, ok := lastSegment(capt, o.Remote, o.Local, o.Received, 200*time.Millisecond)
		if !ok {
			t.Fatalf("mirror lacks the %d bytes the client got: %v", o.Received, o)
		}
		if client.Snapshot().Sent != o.Sent {
			continue // the next write went out: seg is no longer the last
		}
		t0 := time.Now()
		injectRSTs(t, tx, seg)
		return t0
	}
	t.Fatal("no quiet moment between writes in 5 tries")
	return time.Time{}
}

// waitReceived waits at most 3 s until ep has received n bytes.
func waitReceived(t *testing.T, ep *Endpoint, n int64) Outcome {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(200 * time.Microsecond) {
		o := ep.Snapshot()
		if o.Received >= n {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d bytes within 3s: %v", o.Received, n, o)
		}
	}
}

// lastSegment waits until the mirror holds total payload bytes from src to
// dst and returns the last data segment among them.
func lastSegment(capt *Capturer, src, dst netip.AddrPort, total int64,
	wait time.Duration) (Segment, bool) {
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); {
		var sum int64
		var last Segment
		for _, s := range capt.Segments() {
			if s.Src == src && s.Dst == dst && s.Payload > 0 {
				sum += int64(s.Payload)
				last = s
			}
		}
		if sum >= total {
			return last, true
		}
		time.Sleep(time.Millisecond)
	}
	return Segment{}, false
}

// injectRSTs sends, for server->client segment p, RST seq p.Seq+len to the
// client (spoofed from the server) and RST seq p.Ack to the server (spoofed
// from the client), both out of mgmt0 to the router.
func injectRSTs(t *testing.T, tx *Sender, p Segment) {
	t.Helper()
	src, dst := mustMAC(MACSensorMgmt), mustMAC(MACRouterMgmt)
	frames := [][]byte{
		BuildRST(src, dst, p.Src, p.Dst, p.Seq+uint32(p.Payload), 0, FlagRST),
		BuildRST(src, dst, p.Dst, p.Src, p.Ack, 0, FlagRST),
	}
	for _, f := range frames {
		if err := tx.Send(f); err != nil {
			t.Fatal(err)
		}
	}
}
