package replay

import (
	"bufio"
	"io"

	"github.com/softips/softips/pkg/detect"
)

// EVE returns the EVE record of a as a flat map of dotted keys, the form
// suricata-verify checks use ("alert.signature_id"); "http" is present
// when the rule matched an HTTP transaction.
func (a Alert) EVE() map[string]any {
	r := a.Rule
	action := "allowed"
	if r.IsBlock() {
		action = "blocked"
	}
	m := map[string]any{
		"event_type": "alert", "proto": "TCP", "pcap_cnt": a.PcapCnt, "flow_id": a.FlowID,
		"src_ip": a.Src.Addr().Unmap().String(), "src_port": int(a.Src.Port()),
		"dest_ip": a.Dst.Addr().Unmap().String(), "dest_port": int(a.Dst.Port()),
		"alert.action": action, "alert.gid": int(r.GID), "alert.signature_id": int(r.SID),
		"alert.rev": int(r.Rev), "alert.signature": r.Msg,
	}
	if a.HTTP {
		m["app_proto"], m["http"] = "http", true
	}
	return m
}

func writeEVE(w io.Writer, alerts []Alert) error {
	bw := bufio.NewWriter(w)
	for _, a := range alerts {
		if err := detect.WriteEVE(bw, a.Alert, a.FlowID); err != nil {
			return err
		}
	}
	return bw.Flush()
}
