package main

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TestSetFlowMakesDistinctValidSYNs: every rewritten frame is a SYN with
// its own source and a correct IPv4 header checksum.
func TestSetFlowMakesDistinctValidSYNs(t *testing.T) {
	frame, err := synTemplate()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, i := range []int{0, 1, 63, 64, 1 << 20, 999_999} {
		setFlow(frame, i)
		p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if ip == nil || tcp == nil || !tcp.SYN || tcp.ACK {
			t.Fatalf("flow %d: not a TCP SYN: %v", i, p)
		}
		want := ip.Checksum
		ip.Checksum = 0
		buf := gopacket.NewSerializeBuffer()
		_ = ip.SerializeTo(buf, gopacket.SerializeOptions{ComputeChecksums: true})
		if got := ip.Checksum; got != want {
			t.Errorf("flow %d: checksum %#x, want %#x", i, want, got)
		}
		key := ip.SrcIP.String() + ":" + tcp.SrcPort.String()
		if seen[key] {
			t.Errorf("flow %d repeats %s", i, key)
		}
		seen[key] = true
	}
}
