package kernel

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/softips/softips/internal/testenv"
	"github.com/softips/softips/pkg/flowspec"
)

// Endpoints of known-faults.md: client C and server S.
var (
	macC = net.HardwareAddr{2, 0, 0, 0, 0, 0x0a}
	macS = net.HardwareAddr{2, 0, 0, 0, 0, 0x14}
)

const xdpPass = 2

// frame describes one test segment; tcpFrame turns it into wire bytes.
type frame struct {
	src, dst     string // addresses, v4 or v6
	sport, dport uint16
	flags        string // letters of S, A, P, F, R
	seq, ack     uint32
	payload      int
	vlans        []uint16 // outer first; two tags make a QinQ frame
	hopByHop     bool     // an 8-byte IPv6 Hop-by-Hop header before TCP
	udp          bool     // same ports over UDP instead of TCP
}

// cToS is known-faults.md's P: C->S ACK|PSH seq 1000 ack 5000 len 100.
func cToS() frame {
	return frame{src: "203.0.113.10", dst: "198.51.100.20", sport: 51000, dport: 443,
		flags: "AP", seq: 1000, ack: 5000, payload: 100}
}

func (f frame) reversed() frame {
	f.src, f.dst, f.sport, f.dport = f.dst, f.src, f.dport, f.sport
	return f
}

func (f frame) bytes(t testing.TB) []byte {
	t.Helper()
	src, dst := netip.MustParseAddr(f.src), netip.MustParseAddr(f.dst)
	eth := &layers.Ethernet{SrcMAC: macC, DstMAC: macS}
	ls := []gopacket.SerializableLayer{eth}
	next := &eth.EthernetType
	for i, vid := range f.vlans {
		*next = layers.EthernetTypeDot1Q
		if i == 0 && len(f.vlans) > 1 {
			*next = layers.EthernetTypeQinQ
		}
		tag := &layers.Dot1Q{VLANIdentifier: vid}
		ls = append(ls, tag)
		next = &tag.Type
	}
	var netl gopacket.NetworkLayer
	if src.Is4() {
		*next = layers.EthernetTypeIPv4
		ip := &layers.IPv4{Version: 4, TTL: 61, Protocol: layers.IPProtocolTCP,
			SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		if f.udp {
			ip.Protocol = layers.IPProtocolUDP
		}
		ls, netl = append(ls, ip), ip
	} else {
		*next = layers.EthernetTypeIPv6
		ip := &layers.IPv6{Version: 6, HopLimit: 62, NextHeader: layers.IPProtocolTCP,
			SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		if f.udp {
			ip.NextHeader = layers.IPProtocolUDP
		}
		ls, netl = append(ls, ip), ip
		if f.hopByHop {
			// Hop-by-Hop: next header, length 0 (8 bytes), PadN of 4 zero bytes.
			hbh := gopacket.Payload{byte(ip.NextHeader), 0, 1, 4, 0, 0, 0, 0}
			ip.NextHeader = layers.IPProtocolIPv6HopByHop
			ls = append(ls, hbh)
		}
	}
	ls = append(ls, f.transport(t, netl), gopacket.Payload(make([]byte, f.payload)))
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		t.Fatalf("serialize frame: %v", err)
	}
	return buf.Bytes()
}

func (f frame) transport(t testing.TB, netl gopacket.NetworkLayer) gopacket.SerializableLayer {
	t.Helper()
	if f.udp {
		u := &layers.UDP{SrcPort: layers.UDPPort(f.sport), DstPort: layers.UDPPort(f.dport)}
		_ = u.SetNetworkLayerForChecksum(netl)
		return u
	}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(f.sport), DstPort: layers.TCPPort(f.dport),
		Seq: f.seq, Ack: f.ack, Window: 502,
		SYN: strings.Contains(f.flags, "S"), ACK: strings.Contains(f.flags, "A"),
		PSH: strings.Contains(f.flags, "P"), FIN: strings.Contains(f.flags, "F"),
		RST: strings.Contains(f.flags, "R")}
	_ = tcp.SetNetworkLayerForChecksum(netl)
	return tcp
}

// mountBPFFS mounts a private bpffs for one test and unmounts it after.
func mountBPFFS(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("bpf", dir, "bpf", 0, "mode=0700"); err != nil {
		t.Fatalf("mount bpffs on %q: %v", dir, err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// needRoot gates every test here: all load BPF programs. -short skips them.
func needRoot(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("privileged BPF test: skipped under -short")
	}
	testenv.RequireRoot(t)
}

// load loads a classifier pinned in a private bpffs, closed after the test.
func load(t testing.TB, opts Options) *Classifier {
	t.Helper()
	needRoot(t)
	opts.PinPath = filepath.Join(mountBPFFS(t), "softips")
	c, err := Load(opts)
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			t.Fatalf("load: %+v", ve)
		}
		t.Fatalf("load: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return c
}

func entries(specs ...string) []Entry {
	var out []Entry
	for i, s := range specs {
		out = append(out, Entry{ID: uint64(100 + i), Spec: flowspec.MustParse(s)})
	}
	return out
}

func setBlocks(t testing.TB, c *Classifier, specs ...string) {
	t.Helper()
	if err := c.SetBlocks(entries(specs...)); err != nil {
		t.Fatalf("set blocks: %v", err)
	}
}

func counters(t testing.TB, c *Classifier) map[string]uint64 {
	t.Helper()
	m, err := c.Counters()
	if err != nil {
		t.Fatalf("counters: %v", err)
	}
	return m
}

// run feeds one frame to the classifier and returns how each counter moved.
// It fails the test unless the program saw the frame and passed it (F6).
func run(t testing.TB, c *Classifier, data []byte) map[string]uint64 {
	t.Helper()
	before := counters(t, c)
	ret, err := c.objs.SoftipsXdp.Run(&ebpf.RunOptions{Data: data})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	after := counters(t, c)
	delta := make(map[string]uint64)
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			delta[k] = d
		}
	}
	if delta["packets"] != 1 {
		t.Fatalf("packets counter moved by %d, want 1: the program did not see the frame",
			delta["packets"])
	}
	if ret != xdpPass {
		t.Fatalf("verdict %d, want XDP_PASS (%d)", ret, xdpPass)
	}
	return delta
}

// drainInjects returns every inject request queued so far.
func drainInjects(t testing.TB, c *Classifier) []InjectRequest {
	t.Helper()
	return drainRing(t, c.objs.InjectReqs, "inject ring", decodeInject)
}

// drainRing decodes every record queued on ring so far; what names the
// ring in failures.
func drainRing[T any](t testing.TB, ring *ebpf.Map, what string,
	decode func([]byte, monoClock) (T, error)) []T {
	t.Helper()
	rd, err := ringbuf.NewReader(ring)
	if err != nil {
		t.Fatalf("open %s: %v", what, err)
	}
	defer rd.Close()
	rd.SetDeadline(time.Now())
	clk := newMonoClock()
	var out []T
	for {
		rec, err := rd.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return out
		}
		if err != nil {
			t.Fatalf("read %s: %v", what, err)
		}
		v, err := decode(rec.RawSample, clk)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
}
