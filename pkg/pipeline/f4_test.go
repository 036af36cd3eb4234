package pipeline

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/softips/softips/pkg/capture"
)

// framer renders one segment for a link type.
type framer func(testing.TB, seg) []byte

func writePcap(t *testing.T, lt layers.LinkType, mk framer, segs []seg) string {
	path := filepath.Join(t.TempDir(), "f4.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, lt); err != nil {
		t.Fatal(err)
	}
	for i, s := range segs {
		b := mk(t, s)
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond),
			CaptureLength: len(b), Length: len(b)}
		if err := w.WritePacket(ci, b); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// writeNg writes a pcapng file with an Ethernet and an SLL2 interface;
// the segments alternate between them.
func writeNg(t *testing.T, segs []seg) string {
	path := filepath.Join(t.TempDir(), "f4.pcapng")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	eth := pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, SnapLength: 65535}
	w, err := pcapgo.NewNgWriterInterface(f, eth, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	any, err := w.AddInterface(pcapgo.NgInterface{Name: "any", LinkType: layers.LinkTypeLinuxSLL2,
		SnapLength: 65535})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range segs {
		b, iface := ether(t, s), 0
		if i%2 == 1 {
			b, iface = sll2(t, s), any
		}
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond),
			CaptureLength: len(b), Length: len(b), InterfaceIndex: iface}
		if err := w.WritePacket(ci, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return path
}

func traceFile(t *testing.T, path string) (*trace, Stats) {
	tr := &trace{}
	st := runCapture(t, path, Config{}, func(int) Inspector { return tr })
	return tr, st
}

// TestF4LinuxCookedCaptures: the same conversation written as Ethernet,
// SLL, SLL2 and a two-interface pcapng gives identical flows, sequence
// numbers and events.
func TestF4LinuxCookedCaptures(t *testing.T) {
	segs := append(handshake()[:4], f7())
	segs[4].seq = 1009
	want, wantSt := traceFile(t, writePcap(t, layers.LinkTypeEthernet, ether, segs))
	if len(want.ev) != len(segs) || wantSt.Flows != 1 || wantSt.Handshakes != 1 {
		t.Fatalf("ethernet: %d events, %d flows, %d handshakes", len(want.ev),
			wantSt.Flows, wantSt.Handshakes)
	}
	files := map[string]string{
		"sll":    writePcap(t, layers.LinkTypeLinuxSLL, sll, segs),
		"sll2":   writePcap(t, layers.LinkTypeLinuxSLL2, sll2, segs),
		"pcapng": writeNg(t, segs),
	}
	for name, path := range files {
		got, st := traceFile(t, path)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: events differ from Ethernet:\n got %+v\nwant %+v", name, got.ev, want.ev)
		}
		if st.Flows != wantSt.Flows || st.TCP != wantSt.TCP || len(st.Decode) != 0 {
			t.Errorf("%s: stats %+v, want %+v", name, st, wantSt)
		}
	}
}

// TestF4UnknownLinkType: an unknown link type is an error naming its
// number, never "0 packets".
func TestF4UnknownLinkType(t *testing.T) {
	path := writePcap(t, layers.LinkType(147), ether, handshake()[:1])
	_, err := capture.Open(path)
	if err == nil || !strings.Contains(err.Error(), "147") {
		t.Fatalf("open: %v, want an error naming link type 147", err)
	}
}
