package offline

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/softips/softips/internal/testenv"
	"github.com/softips/softips/pkg/av"
	"github.com/softips/softips/pkg/detect"
)

// writeP writes known-faults.md's P into a pcap: C 203.0.113.10:51000 to
// S 198.51.100.20:443, ACK|PSH seq 1000 ack 5000, 100 payload bytes that
// carry "/evil".
func writeP(t *testing.T) string {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 0x0a},
		DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 0x14}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 60, Protocol: layers.IPProtocolTCP,
		SrcIP: net.ParseIP("203.0.113.10"), DstIP: net.ParseIP("198.51.100.20")}
	tcp := &layers.TCP{SrcPort: 51000, DstPort: 443, Seq: 1000, Ack: 5000, ACK: true,
		PSH: true, Window: 502}
	_ = tcp.SetNetworkLayerForChecksum(ip)
	payload := []byte("GET /evil HTTP/1.1\r\nHost: x\r\n\r\n")
	payload = append(payload, make([]byte, 100-len(payload))...)
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	err := gopacket.SerializeLayers(buf, opts, eth, ip, tcp, gopacket.Payload(payload))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "p.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	_ = w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	data := buf.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(1_800_000_000, 0), CaptureLength: len(data),
		Length: len(data)}
	if err := w.WritePacket(ci, data); err != nil {
		t.Fatal(err)
	}
	return path
}

func rules(t *testing.T, text string) *detect.RuleSet {
	t.Helper()
	rs, skipped, err := detect.LoadReader("f9.rules", strings.NewReader(text), detect.DefaultVars())
	if err != nil || len(skipped) > 0 {
		t.Fatalf("rules: %v %v", err, skipped)
	}
	return rs
}

// TestF9RejectPutsFramesOut: a reject rule yields the two RSTs of P (the
// frames themselves, exact numbers), an alert rule on the same packet
// yields none. Offline the frames are collected, not sent.
func TestF9RejectPutsFramesOut(t *testing.T) {
	path := writeP(t)
	cases := []struct {
		rule    string
		resets  []string
		signals int
	}{
		{`reject tcp any any -> 198.51.100.20 443 (msg:"f9"; content:"/evil"; sid:1;)`,
			[]string{"203.0.113.10:51000 > 198.51.100.20:443 RST seq 1100 ack 0",
				"198.51.100.20:443 > 203.0.113.10:51000 RST seq 5000 ack 0"}, 1},
		{`alert tcp any any -> 198.51.100.20 443 (msg:"f9"; content:"/evil"; sid:2;)`,
			nil, 0},
	}
	for _, c := range cases {
		res, err := Run(context.Background(), path, Options{Rules: rules(t, c.rule),
			Midstream: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Alerts) != 1 {
			t.Fatalf("%s: %d alerts, want 1", c.rule, len(res.Alerts))
		}
		var got []string
		for _, f := range res.Resets {
			got = append(got, describe(f))
		}
		if strings.Join(got, "\n") != strings.Join(c.resets, "\n") {
			t.Errorf("%s:\n got resets %q\nwant %q", c.rule, got, c.resets)
		}
		if len(res.Signals) != c.signals {
			t.Errorf("%s: %d signals, want %d", c.rule, len(res.Signals), c.signals)
		}
	}
}

// TestReplayReportsTable: the signal of a block alert lands in the table
// as a detector entry with all four fields fixed.
func TestReplayReportsTable(t *testing.T) {
	var out strings.Builder
	err := Replay(context.Background(), writeP(t), Options{Out: &out, Midstream: true,
		Rules: rules(t, `drop tcp any any -> any any (msg:"x"; content:"/evil"; sid:7;)`)})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"signal 203.0.113.10 51000 198.51.100.20 443",
		"203.0.113.10 51000 198.51.100.20 443  detector  4", "1 alerts, 1 signals, 2 RSTs"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// TestWidenedEntryResetsLaterSYNs replays a real FTP brute force: the
// server's "530 Login incorrect" replies (a drop rule) signal
// "server 21 client clientport"; the sixth widens to "server 21 client 0",
// and from then on the client's new connections are reset at their SYN,
// as the kernel would tag them, before any reply.
func TestWidenedEntryResetsLaterSYNs(t *testing.T) {
	path := filepath.Join(testenv.Corpus(t), "pcaps", "zeek-ftp-bruteforce.pcap")
	res, err := Run(context.Background(), path, Options{Midstream: true, Rules: rules(t,
		`drop tcp any 21 -> any any (msg:"ftp login failed"; content:"530 Login incorrect"; sid:9;)`)})
	if err != nil {
		t.Fatal(err)
	}
	var derived bool
	for _, e := range res.Table {
		derived = derived || (e.Origin.String() == "derived" &&
			e.Spec.String() == "192.168.56.101 21 192.168.56.1 0")
	}
	if !derived {
		t.Fatalf("no derived entry 192.168.56.101 21 192.168.56.1 0 in %v", res.Table)
	}
	synResets := 0
	for _, f := range res.Resets {
		if strings.Contains(describe(f), "> 192.168.56.1:") && strings.Contains(describe(f),
			"RST|ACK seq 0 ") {
			synResets++
		}
	}
	if synResets == 0 {
		t.Errorf("no client SYN was answered with RST|ACK after the widening; %d RSTs",
			len(res.Resets))
	}
	t.Logf("%d alerts, %d signals, %d RSTs, %d of them answering a SYN", len(res.Alerts),
		len(res.Signals), len(res.Resets), synResets)
}

// TestTruncatedCaptureKeepsResults: a capture cut inside a record still
// reports everything before the cut, and fails with the packet number.
func TestTruncatedCaptureKeepsResults(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testenv.Corpus(t), "pcaps", "zeek-ssh-sshguess.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(path, data[:len(data)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	err = Replay(context.Background(), path, Options{Out: &out, Midstream: true,
		Rules: rules(t, `alert tcp any any -> any any (msg:"ssh"; content:"SSH-"; sid:5;)`)})
	if err == nil || !strings.Contains(err.Error(), "packet 211: corrupt capture") {
		t.Fatalf("err = %v, want the corrupt packet named", err)
	}
	if !strings.Contains(out.String(), "summary: 210 packets") ||
		!strings.Contains(out.String(), "12 alerts") {
		t.Errorf("report lacks the results before the cut:\n%s", out.String())
	}
}

// TestAntivirusReplay runs the EICAR downloads shaped to slip past network
// scanners (chunked, gzip, deflate, close-delimited, odd framing) through
// the whole replay with the antivirus: each is flagged, signalled as
// client 0 server 80 and reset; a clean HTTP download is not.
func TestAntivirusReplay(t *testing.T) {
	corpus := testenv.Corpus(t)
	db, skipped, err := av.LoadFiles(filepath.Join(testenv.RepoRoot(t), "pkg", "av", "testdata"))
	if err != nil || len(skipped) > 0 {
		t.Fatalf("load signatures: %v %v", err, skipped)
	}
	evaders, _ := filepath.Glob(filepath.Join(corpus, "suricata-verify", "http-evader__*",
		"input.pcap"))
	if len(evaders) != 6 {
		t.Fatalf("%d http-evader captures, want 6", len(evaders))
	}
	for _, path := range evaders {
		res, err := Run(context.Background(), path, Options{AV: db, Midstream: true})
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(filepath.Dir(path))
		if len(res.AVHits) == 0 || len(res.Signals) == 0 {
			t.Errorf("%s: %d hits, %d signals; want the EICAR flagged and signalled", name,
				len(res.AVHits), len(res.Signals))
			continue
		}
		if s := res.Signals[0]; s.DstPort != 80 || s.SrcPort != 0 || s.Invariants() != 3 {
			t.Errorf("%s: signal %s, want client 0 server 80", name, s)
		}
	}
	clean := filepath.Join(corpus, "pcaps", "zeek-http-testmyids.pcap")
	res, err := Run(context.Background(), clean, Options{AV: db, Midstream: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.AVHits) != 0 || len(res.Signals) != 0 || len(res.Resets) != 0 {
		t.Errorf("clean download: %d hits, %d signals, %d RSTs; want none", len(res.AVHits),
			len(res.Signals), len(res.Resets))
	}
}
