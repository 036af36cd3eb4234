package workload

import (
	"slices"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func TestTableDeterministicAndDistinct(t *testing.T) {
	for _, n := range []int{1, 2, 10, 1000} {
		a, b := Table(n, Seed), Table(n, Seed)
		if len(a) != n {
			t.Fatalf("Table(%d) has %d entries", n, len(a))
		}
		if !slices.Equal(a, b) {
			t.Errorf("Table(%d) differs between two calls with one seed", n)
		}
		seen := map[string]bool{}
		for i, s := range a {
			if err := s.Validate(); err != nil {
				t.Errorf("Table(%d)[%d] = %v invalid: %v", n, i, s, err)
			}
			if seen[s.String()] {
				t.Errorf("Table(%d)[%d] = %v repeats", n, i, s)
			}
			seen[s.String()] = true
		}
		if a[n/2] != HitSpec {
			t.Errorf("Table(%d)[%d] = %v, want HitSpec", n, n/2, a[n/2])
		}
	}
	if slices.Equal(Table(100, Seed), Table(100, Seed+1)) {
		t.Error("two seeds gave one table")
	}
}

func TestTableOnlyHitSpecMatches(t *testing.T) {
	for i, s := range Table(10000, Seed) {
		if s.Matches(MissTuple) {
			t.Errorf("entry %d %v matches the miss tuple", i, s)
		}
		if s.Matches(HitTuple) != (s == HitSpec) {
			t.Errorf("entry %d %v: matches hit = %v", i, s, s.Matches(HitTuple))
		}
		if s == AddSpec {
			t.Errorf("entry %d is AddSpec", i)
		}
	}
	misses := MissTuples(32)
	for i, s := range Table(10000, Seed) {
		for _, m := range misses {
			if s.Matches(m) {
				t.Errorf("entry %d %v matches miss tuple %v", i, s, m)
			}
		}
	}
	if HitSpec.Matches(misses[0]) || len(misses) != 32 {
		t.Errorf("MissTuples(32) = %d tuples, first matched by HitSpec: %v", len(misses),
			HitSpec.Matches(misses[0]))
	}
	if AddSpec.Matches(HitTuple) || AddSpec.Matches(MissTuple) {
		t.Error("AddSpec matches a benchmark frame")
	}
}

func TestTableMix(t *testing.T) {
	const n = 20000
	var count [nShapes]int
	v6 := 0
	for _, s := range Table(n, Seed) {
		count[ShapeOf(s)]++
		if s.Is6() {
			v6++
		}
	}
	for sh, pct := range Mix {
		got := count[sh] * 100 / n
		if got < pct-2 || got > pct+2 {
			t.Errorf("shape %v: %d%%, want %d%% +-2", Shape(sh), got, pct)
		}
	}
	if got := v6 * 100 / n; got < V6Percent-2 || got > V6Percent+2 {
		t.Errorf("IPv6 share %d%%, want %d%%", got, V6Percent)
	}
}

func TestFrames(t *testing.T) {
	for name, mk := range map[string]func() ([]byte, error){"hit": HitFrame, "miss": MissFrame} {
		b, err := mk()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if tcp == nil || ip == nil {
			t.Fatalf("%s: no IPv4/TCP in %x", name, b)
		}
		if tcp.SrcPort != 51000 || tcp.DstPort != 443 || tcp.Seq != 1000 || len(tcp.Payload) != 100 {
			t.Errorf("%s: tcp %v seq %d len %d", name, tcp.TransportFlow(), tcp.Seq,
				len(tcp.Payload))
		}
		want := HitTuple.Dst.String()
		if name == "miss" {
			want = MissTuple.Dst.String()
		}
		if ip.DstIP.String() != want {
			t.Errorf("%s: dst %v, want %s", name, ip.DstIP, want)
		}
	}
}
