package av

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"time"
)

// FlowInfo is the flow a Hit was found in, as EVE records name it: Src is
// the sender of the scanned direction.
type FlowInfo struct {
	Time     time.Time
	FlowID   uint64
	Src      netip.AddrPort
	Dst      netip.AddrPort
	Proto    string // "TCP" when empty
	AppProto string // "http" when known, else empty
}

type eveRecord struct {
	Timestamp string   `json:"timestamp"`
	FlowID    uint64   `json:"flow_id,omitempty"`
	EventType string   `json:"event_type"`
	SrcIP     string   `json:"src_ip"`
	SrcPort   uint16   `json:"src_port"`
	DestIP    string   `json:"dest_ip"`
	DestPort  uint16   `json:"dest_port"`
	Proto     string   `json:"proto"`
	AppProto  string   `json:"app_proto,omitempty"`
	AV        eveHitAV `json:"antivirus"`
}

type eveHitAV struct {
	Signature   string `json:"signature"`
	Kind        string `json:"kind"`
	Object      string `json:"object"`
	SHA256      string `json:"sha256,omitempty"`
	Offset      int64  `json:"offset"`
	ObjectStart int64  `json:"object_start"`
	Size        int64  `json:"size,omitempty"`
}

// eveTime is the timestamp layout of Suricata's EVE records.
const eveTime = "2006-01-02T15:04:05.000000-0700"

// WriteEVE writes h as one EVE JSON line with event_type "antivirus".
func WriteEVE(w io.Writer, h Hit, flow FlowInfo) error {
	proto := flow.Proto
	if proto == "" {
		proto = "TCP"
	}
	rec := eveRecord{
		Timestamp: flow.Time.Format(eveTime), FlowID: flow.FlowID,
		EventType: "antivirus",
		SrcIP:     flow.Src.Addr().Unmap().String(), SrcPort: flow.Src.Port(),
		DestIP: flow.Dst.Addr().Unmap().String(), DestPort: flow.Dst.Port(),
		Proto: proto, AppProto: flow.AppProto,
		AV: eveHitAV{Signature: h.Signature, Kind: h.Kind, Object: h.Object,
			SHA256: h.Hash, Offset: h.Offset, ObjectStart: h.ObjectStart, Size: h.Size},
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("write eve antivirus %q: %w", h.Signature, err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write eve antivirus %q: %w", h.Signature, err)
	}
	return nil
}
