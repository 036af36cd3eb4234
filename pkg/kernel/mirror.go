package kernel

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"

	"github.com/softips/softips/pkg/flowspec"
)

// ErrNoShard is returned for a detection shard the classifier does not feed.
var ErrNoShard = errors.New("no such detection shard")

// mirrorHdrLen is the size of struct softips_mirror_hdr.
const mirrorHdrLen = 16

// MirrorRecord is one mirrored frame snapshot.
type MirrorRecord struct {
	Data    []byte    // the first bytes of the frame; valid only during the callback
	OrigLen uint32    // length of the whole frame
	Time    time.Time // when the classifier saw it
}

// Shards returns how many detection rings the classifier feeds.
func (c *Classifier) Shards() int { return len(c.rings) }

// ReadMirror calls fn for each snapshot on detection ring shard, in ring
// order. The kernel wakes the reader when it has drained the ring, never on
// a timer. It returns nil once ctx is done, or the first read error. Only
// one reader per shard at a time.
func (c *Classifier) ReadMirror(ctx context.Context, shard int, fn func(MirrorRecord)) error {
	if shard < 0 || shard >= len(c.rings) {
		return fmt.Errorf("read mirror shard %d: %w", shard, ErrNoShard)
	}
	rd, err := ringbuf.NewReader(c.rings[shard])
	if err != nil {
		return fmt.Errorf("open detection ring %d: %w", shard, err)
	}
	defer rd.Close()
	stop := context.AfterFunc(ctx, func() { rd.Close() })
	defer stop()

	clk := newMonoClock()
	var rec ringbuf.Record
	for n := 0; ; n++ {
		if err := rd.ReadInto(&rec); err != nil {
			if ctx.Err() != nil && errors.Is(err, ringbuf.ErrClosed) {
				return nil
			}
			return fmt.Errorf("read detection ring %d: %w", shard, err)
		}
		if n%4096 == 0 {
			clk = newMonoClock() // follow wall-clock steps on long runs
		}
		m, err := decodeMirror(rec.RawSample, clk)
		if err != nil {
			return fmt.Errorf("detection ring %d: %w", shard, err)
		}
		fn(m)
	}
}

func decodeMirror(raw []byte, clk monoClock) (MirrorRecord, error) {
	if len(raw) < mirrorHdrLen {
		return MirrorRecord{}, fmt.Errorf("record of %d bytes: shorter than its header",
			len(raw))
	}
	ts := binary.NativeEndian.Uint64(raw[0:8])
	orig := binary.NativeEndian.Uint32(raw[8:12])
	capLen := binary.NativeEndian.Uint32(raw[12:16])
	if int(capLen) > len(raw)-mirrorHdrLen {
		return MirrorRecord{}, fmt.Errorf("record of %d bytes claims %d captured",
			len(raw), capLen)
	}
	return MirrorRecord{Data: raw[mirrorHdrLen : mirrorHdrLen+capLen], OrigLen: orig,
		Time: clk.wall(ts)}, nil
}

// flowKeyOf is the canonical key the kernel builds for t's flow, either way.
func flowKeyOf(t flowspec.Tuple) bpfSoftipsFlowKey {
	var a, b [16]uint8
	putAddr(&a, t.Src)
	putAddr(&b, t.Dst)
	k := bpfSoftipsFlowKey{Family: 6}
	if t.Src.Is4() {
		k.Family = 4
	}
	c := bytes.Compare(a[:], b[:])
	if c < 0 || (c == 0 && t.SrcPort <= t.DstPort) {
		k.LoAddr, k.HiAddr, k.LoPort, k.HiPort = a, b, t.SrcPort, t.DstPort
	} else {
		k.LoAddr, k.HiAddr, k.LoPort, k.HiPort = b, a, t.DstPort, t.SrcPort
	}
	return k
}

// Bypass stops mirroring the payload of t's flow (either direction): the
// detection workers are done with it. SYN, FIN and RST segments are still
// mirrored so the workers see the flow end. The mark ages out with the LRU.
func (c *Classifier) Bypass(t flowspec.Tuple) error {
	k := flowKeyOf(t)
	now := uint64(time.Now().UnixNano())
	if err := c.objs.MirrorBypass.Update(&k, &now, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("bypass %v: %w", t, err)
	}
	return nil
}

// MirrorDrops returns, per detection shard, how many snapshots were lost
// because the shard's ring was full.
func (c *Classifier) MirrorDrops() ([]uint64, error) {
	out := make([]uint64, len(c.rings))
	var perCPU []uint64
	for i := range out {
		if err := c.objs.MirrorDrops.Lookup(uint32(i), &perCPU); err != nil {
			return nil, fmt.Errorf("read drops of shard %d: %w", i, err)
		}
		for _, v := range perCPU {
			out[i] += v
		}
	}
	return out, nil
}
