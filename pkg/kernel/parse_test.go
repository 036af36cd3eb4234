package kernel

import (
	"encoding/binary"
	"testing"
)

// Extension header protocol numbers (IANA).
const (
	extHopByHop = 0
	extRouting  = 43
	extFragment = 44
	extDestOpts = 60
)

// ext6 is one 8-byte IPv6 extension header; for a fragment header, off is
// the fragment offset in 8-byte units.
type ext6 struct {
	typ uint8
	off uint16
}

// withExt6 splices extension headers between the IPv6 header and TCP of an
// untagged IPv6 frame, chaining next-header fields and fixing the length.
func withExt6(frame []byte, exts ...ext6) []byte {
	const ip6 = 14
	out := append([]byte{}, frame[:ip6+40]...)
	next := out[ip6+6]
	if len(exts) > 0 {
		out[ip6+6] = exts[0].typ
	}
	for i, e := range exts {
		h := []byte{next, 0, 1, 4, 0, 0, 0, 0} // PadN filling 8 bytes
		if i+1 < len(exts) {
			h[0] = exts[i+1].typ
		}
		if e.typ == extFragment {
			h[1] = 0
			binary.BigEndian.PutUint16(h[2:], e.off<<3)
			binary.BigEndian.PutUint32(h[4:], 0x1234)
		}
		out = append(out, h...)
	}
	out = append(out, frame[ip6+40:]...)
	plen := binary.BigEndian.Uint16(out[ip6+4:])
	binary.BigEndian.PutUint16(out[ip6+4:], plen+uint16(8*len(exts)))
	return out
}

// withIPv4Options inserts four NOP options into the IPv4 header.
func withIPv4Options(frame []byte) []byte {
	const ip = 14
	out := append([]byte{}, frame[:ip+20]...)
	out = append(out, 1, 1, 1, 1)
	out = append(out, frame[ip+20:]...)
	out[ip] = 0x46
	tot := binary.BigEndian.Uint16(out[ip+2:])
	binary.BigEndian.PutUint16(out[ip+2:], tot+4)
	return out
}

// patch returns a copy of frame with b written at off.
func patch(frame []byte, off int, b ...byte) []byte {
	out := append([]byte{}, frame...)
	copy(out[off:], b)
	return out
}

// TestParseEdges feeds header layouts a naive parser gets wrong and checks
// what the classifier counted and whether it matched.
func TestParseEdges(t *testing.T) {
	c := load(t, Options{RateBurst: 1000})
	setBlocks(t, c, "0.0.0.0/0 0 198.51.100.20/32 443", "2001:db8::10/128 0 ::/0 443")
	v4 := cToS().bytes(t)
	syn6 := frame{src: "2001:db8::10", dst: "2001:db8::20", sport: 51000, dport: 443,
		flags: "S", seq: 7000}.bytes(t)
	var nine []ext6
	for range 9 {
		nine = append(nine, ext6{typ: extDestOpts})
	}
	short := cToS()
	short.flags, short.payload = "S", 0
	padded := append(short.bytes(t), make([]byte, 6)...) // Ethernet pads to 60 bytes
	cases := []struct {
		name    string
		data    []byte
		counter string
		match   bool
		payload uint16
	}{
		{"ipv4 options", withIPv4Options(v4), "tcp", true, 100},
		{"ipv4 non-first fragment", patch(v4, 14+6, 0x00, 0x10), "fragment", false, 0},
		{"ipv4 first fragment, more to come", patch(v4, 14+6, 0x20, 0x00), "tcp", true, 100},
		{"ipv4 header length 4", patch(v4, 14, 0x44), "malformed", false, 0},
		{"tcp data offset 4", patch(v4, 14+20+12, 0x40), "malformed", false, 0},
		{"ethernet padding", padded, "tcp", true, 0},
		{"ipv6 routing and dest opts", withExt6(syn6, ext6{typ: extRouting},
			ext6{typ: extDestOpts}), "tcp", true, 0},
		{"ipv6 first fragment", withExt6(syn6, ext6{typ: extFragment}), "tcp", true, 0},
		{"ipv6 non-first fragment", withExt6(syn6, ext6{typ: extFragment, off: 185}),
			"fragment", false, 0},
		{"ipv6 eight headers", withExt6(syn6, nine[:8]...), "tcp", true, 0},
		{"ipv6 nine headers", withExt6(syn6, nine...), "exthdr_giveup", false, 0},
		{"ipv4 non-ip ethertype", patch(v4, 12, 0x08, 0x06), "non_ip", false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			delta := run(t, c, tc.data)
			reqs := drainInjects(t, c)
			if delta[tc.counter] != 1 {
				t.Errorf("counter %q moved by %d (all %v)", tc.counter, delta[tc.counter], delta)
			}
			if got := len(reqs) == 1; got != tc.match || len(reqs) > 1 {
				t.Fatalf("%d requests, want match %v (counters %v)", len(reqs), tc.match, delta)
			}
			if tc.match && reqs[0].PayloadLen != tc.payload {
				t.Errorf("payload length %d, want %d", reqs[0].PayloadLen, tc.payload)
			}
		})
	}
}
