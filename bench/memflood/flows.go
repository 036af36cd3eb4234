package main

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/softips/softips/bench/internal/result"
	"github.com/softips/softips/bench/workload"
	"github.com/softips/softips/pkg/flowspec"
	"github.com/softips/softips/pkg/pipeline"
)

// nopInspector looks at nothing: the flood measures flow state alone.
type nopInspector struct{}

func (nopInspector) Inspect(*pipeline.Event) {}
func (nopInspector) FlowEnd(*pipeline.Flow)  {}

// Offsets in an untagged Ethernet/IPv4 frame with a 20-byte IP header.
const (
	offIPCsum = 14 + 10
	offIPSrc  = 14 + 12
	offSport  = 14 + 20
	offFlags  = 14 + 20 + 13
)

// floodFlows opens n distinct flows (a SYN each, from distinct client
// addresses and ports to one server) in one worker with the default
// configuration, reading memory at each checkpoint.
func floodFlows(n int) ([]result.Row, error) {
	frame, err := synTemplate()
	if err != nil {
		return nil, err
	}
	cfg := pipeline.Config{}
	base := measureMemory()
	w := pipeline.NewWorker(cfg, 0, nopInspector{})
	start := time.Unix(1_800_000_000, 0)
	var at []memory
	next := 0
	for i := 0; i < 2*n; i++ {
		setFlow(frame, i)
		w.HandleFrame(layers.LinkTypeEthernet, frame, len(frame),
			start.Add(time.Duration(i)*time.Microsecond), i+1)
		if next < len(checkpoints) && i+1 == checkpoint(n, next) {
			at = append(at, measureMemory())
			next++
		}
	}
	st := w.Stats()
	rows := memoryRows("flows", "1 worker, distinct flows", n, base, at)
	rows = append(rows,
		row("flows/active", "flows held in the table at the end", "flows",
			float64(st.ActiveFlows)),
		row("flows/max_flows", "flow table limit (Config.MaxFlows default, 1 worker)",
			"flows", float64(maxFlows(cfg))),
		row("flows/evictions", "flows evicted because the table was full", "flows",
			float64(st.Evictions)),
		row("flows/created", "flows created", "flows", float64(st.Flows)))
	if st.Flows != uint64(2*n) {
		rows[len(rows)-1].Note = fmt.Sprintf("sent %d distinct SYNs", 2*n)
	}
	w.Close()
	return rows, nil
}

// maxFlows is the worker's flow limit: the default where cfg leaves it 0.
func maxFlows(cfg pipeline.Config) int {
	if cfg.MaxFlows > 0 {
		return cfg.MaxFlows
	}
	return 1 << 16 // pipeline's documented default
}

func synTemplate() ([]byte, error) {
	t := flowspec.Tuple{Src: netip.MustParseAddr("10.0.0.1"),
		Dst: netip.MustParseAddr("203.0.113.10"), SrcPort: 1024, DstPort: 80}
	f, err := workload.Frame(t, 0)
	if err != nil {
		return nil, err
	}
	f[offFlags] = 0x02 // SYN alone
	return f, nil
}

// setFlow rewrites the client address and port of frame for flow i and
// fixes the IP header checksum.
func setFlow(frame []byte, i int) {
	binary.BigEndian.PutUint32(frame[offIPSrc:], 0x0a000000|uint32(i>>6))
	binary.BigEndian.PutUint16(frame[offSport:], uint16(1024+(i&63)))
	frame[offIPCsum], frame[offIPCsum+1] = 0, 0
	var sum uint32
	for j := 14; j < 34; j += 2 {
		sum += uint32(binary.BigEndian.Uint16(frame[j:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(frame[offIPCsum:], ^uint16(sum))
}
