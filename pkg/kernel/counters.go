package kernel

import "fmt"

// counterNames are the stable names of the classifier's counters, as
// Counters reports them and metrics export them.
var counterNames = map[bpfSoftipsCounter]string{
	bpfSoftipsCounterSOFTIPS_CNT_PACKETS:         "packets",
	bpfSoftipsCounterSOFTIPS_CNT_NON_IP:          "non_ip",
	bpfSoftipsCounterSOFTIPS_CNT_VLAN_DEPTH:      "vlan_depth",
	bpfSoftipsCounterSOFTIPS_CNT_NON_TCP:         "non_tcp",
	bpfSoftipsCounterSOFTIPS_CNT_TRUNCATED:       "truncated",
	bpfSoftipsCounterSOFTIPS_CNT_MALFORMED:       "malformed",
	bpfSoftipsCounterSOFTIPS_CNT_EXTHDR_GIVEUP:   "exthdr_giveup",
	bpfSoftipsCounterSOFTIPS_CNT_FRAGMENT:        "fragment",
	bpfSoftipsCounterSOFTIPS_CNT_TCP:             "tcp",
	bpfSoftipsCounterSOFTIPS_CNT_MATCHED:         "matched",
	bpfSoftipsCounterSOFTIPS_CNT_RST_IGNORED:     "rst_ignored",
	bpfSoftipsCounterSOFTIPS_CNT_RATE_LIMITED:    "rate_limited",
	bpfSoftipsCounterSOFTIPS_CNT_INJECT_QUEUED:   "inject_queued",
	bpfSoftipsCounterSOFTIPS_CNT_INJECT_FULL:     "inject_full",
	bpfSoftipsCounterSOFTIPS_CNT_MIRROR_QUEUED:   "mirror_queued",
	bpfSoftipsCounterSOFTIPS_CNT_MIRROR_FULL:     "mirror_full",
	bpfSoftipsCounterSOFTIPS_CNT_MIRROR_BYPASSED: "mirror_bypassed",
	bpfSoftipsCounterSOFTIPS_CNT_MIRROR_SKIPPED:  "mirror_skipped",
	bpfSoftipsCounterSOFTIPS_CNT_INJECT_DEFERRED: "inject_deferred",
}

// Counters returns every classifier counter, summed over CPUs, by its
// stable name: packets, non_ip, vlan_depth, non_tcp, truncated, malformed,
// exthdr_giveup, fragment, tcp, matched, rst_ignored, rate_limited,
// inject_queued, inject_full, mirror_queued, mirror_full, mirror_bypassed,
// mirror_skipped.
func (c *Classifier) Counters() (map[string]uint64, error) {
	out := make(map[string]uint64, len(counterNames))
	var perCPU []uint64
	for idx, name := range counterNames {
		if err := c.objs.Counters.Lookup(uint32(idx), &perCPU); err != nil {
			return nil, fmt.Errorf("read counter %q: %w", name, err)
		}
		var sum uint64
		for _, v := range perCPU {
			sum += v
		}
		out[name] = sum
	}
	return out, nil
}
