package kernel

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/cilium/ebpf/ringbuf"
)

// InjectRequest asks the injector to reset the flow of one matched segment.
// Addresses, ports and numbers are those of the captured segment.
type InjectRequest struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            uint8 // TCP flags byte (FIN 0x01 .. ACK 0x10)
	Window           uint16
	PayloadLen       uint16 // TCP payload bytes, from the IP length fields
	TTL              uint8  // TTL or hop limit
	SrcMAC, DstMAC   [6]byte
	VLANs            []uint16 // VLAN ids, outer first; nil when untagged
	EntryID          uint64
	Time             time.Time
}

// ReadInjects calls fn for every inject request, in ring order, as soon as
// the kernel queues it (the kernel wakes the reader per record). It returns
// nil once ctx is done, or the first read error. Only one reader at a time.
func (c *Classifier) ReadInjects(ctx context.Context, fn func(InjectRequest)) error {
	rd, err := ringbuf.NewReader(c.objs.InjectReqs)
	if err != nil {
		return fmt.Errorf("open inject ring: %w", err)
	}
	defer rd.Close()
	stop := context.AfterFunc(ctx, func() { rd.Close() })
	defer stop()

	clk := newMonoClock()
	var rec ringbuf.Record
	for {
		if err := rd.ReadInto(&rec); err != nil {
			if ctx.Err() != nil && errors.Is(err, ringbuf.ErrClosed) {
				return nil
			}
			return fmt.Errorf("read inject ring: %w", err)
		}
		req, err := decodeInject(rec.RawSample, clk)
		if err != nil {
			return err
		}
		fn(req)
	}
}

func decodeInject(raw []byte, clk monoClock) (InjectRequest, error) {
	var r bpfSoftipsInjectReq
	if _, err := binary.Decode(raw, binary.NativeEndian, &r); err != nil {
		return InjectRequest{}, fmt.Errorf("decode inject request (%d bytes): %w",
			len(raw), err)
	}
	req := InjectRequest{
		Src: addrOf(r.Family, r.Src), Dst: addrOf(r.Family, r.Dst),
		SrcPort: r.Sport, DstPort: r.Dport, Seq: r.Seq, Ack: r.Ack,
		Flags: r.TcpFlags, Window: r.Window, PayloadLen: r.PayloadLen, TTL: r.Ttl,
		SrcMAC: r.SrcMac, DstMAC: r.DstMac, EntryID: r.EntryId, Time: clk.wall(r.TsNs),
	}
	if n := min(int(r.Nvlans), len(r.Vlans)); n > 0 {
		req.VLANs = append([]uint16(nil), r.Vlans[:n]...)
	}
	return req, nil
}

// addrOf reads the kernel's 16-byte address form.
func addrOf(family uint8, b [16]uint8) netip.Addr {
	if family == 4 {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16(b)
}
