package kernel

import (
	"encoding/binary"
	"testing"
)

// TestCounterNames: every counter the kernel has carries a distinct name.
func TestCounterNames(t *testing.T) {
	seen := map[string]bool{}
	for i := range bpfSoftipsCounterSOFTIPS_CNT_MAX {
		name := counterNames[i]
		if name == "" || seen[name] {
			t.Errorf("counter %d: name %q missing or repeated", i, name)
		}
		seen[name] = true
	}
	if len(counterNames) != int(bpfSoftipsCounterSOFTIPS_CNT_MAX) {
		t.Errorf("%d names for %d counters", len(counterNames), bpfSoftipsCounterSOFTIPS_CNT_MAX)
	}
}

// TestMaskWords: masks as the kernel ANDs them, bytes in network order.
func TestMaskWords(t *testing.T) {
	cases := []struct {
		bits uint8
		want [16]byte
	}{
		{0, [16]byte{}},
		{24, [16]byte{0xff, 0xff, 0xff}},
		{31, [16]byte{0xff, 0xff, 0xff, 0xfe}},
		{32, [16]byte{0xff, 0xff, 0xff, 0xff}},
		{65, [16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80}},
		{128, [16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	}
	for _, tc := range cases {
		w := maskWords(tc.bits)
		var got [16]byte
		for i, v := range w {
			binary.NativeEndian.PutUint32(got[4*i:], v)
		}
		if got != tc.want {
			t.Errorf("/%d: mask % x, want % x", tc.bits, got, tc.want)
		}
	}
}
