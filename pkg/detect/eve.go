package detect

import (
	"encoding/json"
	"fmt"
	"io"
)

// eveTimeLayout is Suricata's EVE timestamp format.
const eveTimeLayout = "2006-01-02T15:04:05.000000-0700"

type eveAlert struct {
	Timestamp string      `json:"timestamp"`
	FlowID    uint64      `json:"flow_id"`
	EventType string      `json:"event_type"`
	SrcIP     string      `json:"src_ip"`
	SrcPort   uint16      `json:"src_port"`
	DestIP    string      `json:"dest_ip"`
	DestPort  uint16      `json:"dest_port"`
	Proto     string      `json:"proto"`
	AppProto  string      `json:"app_proto,omitempty"`
	Alert     eveAlertObj `json:"alert"`
}

type eveAlertObj struct {
	Action      string `json:"action"`
	GID         uint32 `json:"gid"`
	SignatureID uint32 `json:"signature_id"`
	Rev         uint32 `json:"rev"`
	Signature   string `json:"signature"`
	Category    string `json:"category"`
	Severity    int    `json:"severity"`
}

// WriteEVE writes a as one EVE-style JSON line. The action is "blocked"
// for drop and reject rules and "allowed" otherwise, as Suricata logs it;
// category is the rule's classtype.
func WriteEVE(w io.Writer, a Alert, flowID uint64) error {
	r := a.Rule
	action := "allowed"
	if r.IsBlock() {
		action = "blocked"
	}
	ev := eveAlert{
		Timestamp: a.Time.Format(eveTimeLayout), FlowID: flowID, EventType: "alert",
		SrcIP: a.Src.Addr().Unmap().String(), SrcPort: a.Src.Port(),
		DestIP: a.Dst.Addr().Unmap().String(), DestPort: a.Dst.Port(), Proto: "TCP",
		Alert: eveAlertObj{Action: action, GID: r.GID, SignatureID: r.SID, Rev: r.Rev,
			Signature: r.Msg, Category: r.Classtype, Severity: r.Priority},
	}
	if a.HTTP {
		ev.AppProto = "http"
	}
	line, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("write eve: %w", err)
	}
	if _, err := w.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("write eve: %w", err)
	}
	return nil
}
