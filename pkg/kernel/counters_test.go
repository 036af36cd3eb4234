package kernel

import "testing"

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
