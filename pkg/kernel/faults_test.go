package kernel

import "testing"

// TestF1TaggedMirror: a block on S:443 matches the untagged and the VID 100
// tagged P, and not the tagged control to 198.51.100.21 (known fault F1).
func TestF1TaggedMirror(t *testing.T) {
	c := load(t, Options{})
	setBlocks(t, c, "0.0.0.0/0 0 198.51.100.20/32 443")
	tagged := cToS()
	tagged.vlans = []uint16{100}
	control := tagged
	control.dst = "198.51.100.21"
	cases := []struct {
		name  string
		f     frame
		match bool
	}{
		{"a untagged", cToS(), true},
		{"b tagged VID 100", tagged, true},
		{"c tagged control", control, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			delta := run(t, c, tc.f.bytes(t))
			reqs := drainInjects(t, c)
			got := delta["matched"] == 1 && len(reqs) == 1
			if got != tc.match || (!tc.match && (delta["matched"] != 0 || len(reqs) != 0)) {
				t.Fatalf("matched %d, %d requests; want match %v", delta["matched"],
					len(reqs), tc.match)
			}
		})
	}
}

// TestF3HopByHop: the IPv6 SYN matches with TCP right after the IPv6
// header and behind an 8-byte Hop-by-Hop header (known fault F3).
func TestF3HopByHop(t *testing.T) {
	c := load(t, Options{})
	setBlocks(t, c, "2001:db8::10/128 0 2001:db8::20/128 443")
	syn := frame{src: "2001:db8::10", dst: "2001:db8::20", sport: 51000, dport: 443,
		flags: "S", seq: 7000}
	hbh := syn
	hbh.hopByHop = true
	for name, f := range map[string]frame{"a direct": syn, "b hop-by-hop": hbh} {
		t.Run(name, func(t *testing.T) {
			delta := run(t, c, f.bytes(t))
			reqs := drainInjects(t, c)
			if delta["matched"] != 1 || len(reqs) != 1 {
				t.Fatalf("matched %d, %d requests; want 1 and 1", delta["matched"], len(reqs))
			}
			if reqs[0].SrcPort != 51000 || reqs[0].DstPort != 443 || reqs[0].Seq != 7000 {
				t.Errorf("request %+v, want ports 51000->443 seq 7000", reqs[0])
			}
		})
	}
}
