package kernel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/softips/softips/pkg/flowspec"
)

// drainMirror returns copies of every snapshot queued on shard so far.
func drainMirror(t testing.TB, c *Classifier, shard int) []MirrorRecord {
	t.Helper()
	return drainRing(t, c.rings[shard], fmt.Sprintf("ring %d", shard),
		func(raw []byte, clk monoClock) (MirrorRecord, error) {
			m, err := decodeMirror(raw, clk)
			m.Data = bytes.Clone(m.Data)
			return m, err
		})
}

// shardsOf returns how many snapshots each shard holds, draining them.
func shardsOf(t testing.TB, c *Classifier) []int {
	t.Helper()
	out := make([]int, c.Shards())
	for i := range out {
		out[i] = len(drainMirror(t, c, i))
	}
	return out
}

func tupleOf(f frame) flowspec.Tuple {
	return flowspec.Tuple{Src: netip.MustParseAddr(f.src), Dst: netip.MustParseAddr(f.dst),
		SrcPort: f.sport, DstPort: f.dport}
}

// TestMirrorSymmetric: both directions of every flow land in one ring, and
// distinct flows spread over more than one ring.
func TestMirrorSymmetric(t *testing.T) {
	c := load(t, Options{MirrorShards: 4})
	used := map[int]bool{}
	for i := range 16 {
		f := cToS()
		f.sport = uint16(40000 + i*7)
		if i%2 == 1 {
			f.src, f.dst = "2001:db8::10", "2001:db8::20"
		}
		run(t, c, f.bytes(t))
		run(t, c, f.reversed().bytes(t))
		got := shardsOf(t, c)
		shard := -1
		for s, n := range got {
			if n == 2 {
				shard = s
			} else if n != 0 {
				shard = -2
			}
		}
		if shard < 0 {
			t.Fatalf("flow %d: snapshots per shard %v, want both in one", i, got)
		}
		used[shard] = true
	}
	if len(used) < 2 {
		t.Errorf("16 flows all hashed to shards %v", used)
	}
}

// TestMirrorSnapshot: a snapshot keeps the headers and SnapLen payload
// bytes, or the whole frame when it is shorter, with the original length.
func TestMirrorSnapshot(t *testing.T) {
	c := load(t, Options{MirrorShards: 1, SnapLen: 64})
	cases := []struct {
		name       string
		payload    int
		vlans      []uint16
		wantCapLen int
	}{
		{"long payload", 500, nil, 14 + 20 + 20 + 64},
		{"long payload QinQ", 500, []uint16{1, 2}, 14 + 8 + 20 + 20 + 64},
		{"short payload", 10, nil, 14 + 20 + 20 + 10},
		{"full-size frame", 1400, nil, 14 + 20 + 20 + 64},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := cToS()
			f.payload, f.vlans = tc.payload, tc.vlans
			data := f.bytes(t)
			delta := run(t, c, data)
			recs := drainMirror(t, c, 0)
			if delta["mirror_queued"] != 1 || len(recs) != 1 {
				t.Fatalf("queued %d, %d records; want 1 and 1", delta["mirror_queued"], len(recs))
			}
			r := recs[0]
			if len(r.Data) != tc.wantCapLen || int(r.OrigLen) != len(data) {
				t.Errorf("captured %d of %d, want %d of %d", len(r.Data), r.OrigLen,
					tc.wantCapLen, len(data))
			}
			if !bytes.Equal(r.Data, data[:min(len(data), len(r.Data))]) {
				t.Error("snapshot bytes differ from the frame")
			}
			if r.Time.IsZero() {
				t.Error("snapshot time is zero")
			}
		})
	}
}

// TestMirrorSnapshotMax: however large SnapLen is, a snapshot stops at
// MaxSnapshot bytes.
func TestMirrorSnapshotMax(t *testing.T) {
	c := load(t, Options{MirrorShards: 1, SnapLen: 4000})
	f := cToS()
	f.payload = 2500
	data := f.bytes(t)
	run(t, c, data)
	recs := drainMirror(t, c, 0)
	if len(recs) != 1 || len(recs[0].Data) != MaxSnapshot || int(recs[0].OrigLen) != len(data) {
		t.Fatalf("records %d, want one of %d bytes of %d", len(recs), MaxSnapshot, len(data))
	}
}

// TestMirrorSelection: bare ACKs are skipped; SYN, FIN, RST and payload go.
func TestMirrorSelection(t *testing.T) {
	c := load(t, Options{MirrorShards: 1})
	cases := []struct {
		flags   string
		payload int
		want    string
	}{
		{"A", 0, "mirror_skipped"},
		{"S", 0, "mirror_queued"},
		{"SA", 0, "mirror_queued"},
		{"FA", 0, "mirror_queued"},
		{"R", 0, "mirror_queued"},
		{"AP", 1, "mirror_queued"},
	}
	for _, tc := range cases {
		f := cToS()
		f.flags, f.payload = tc.flags, tc.payload
		if delta := run(t, c, f.bytes(t)); delta[tc.want] != 1 {
			t.Errorf("flags %s payload %d: counters %v, want %s", tc.flags, tc.payload,
				delta, tc.want)
		}
	}
}

// TestMirrorBypass: once bypassed, a flow's payload is no longer mirrored
// in either direction, its FIN still is, and other flows are untouched.
func TestMirrorBypass(t *testing.T) {
	c := load(t, Options{MirrorShards: 2})
	if err := c.Bypass(tupleOf(cToS().reversed())); err != nil {
		t.Fatal(err)
	}
	fin := cToS()
	fin.flags, fin.payload = "FA", 0
	other := cToS()
	other.sport = 51001
	cases := []struct {
		name string
		f    frame
		want string
	}{
		{"payload forward", cToS(), "mirror_bypassed"},
		{"payload reverse", cToS().reversed(), "mirror_bypassed"},
		{"fin", fin, "mirror_queued"},
		{"other flow", other, "mirror_queued"},
	}
	for _, tc := range cases {
		if delta := run(t, c, tc.f.bytes(t)); delta[tc.want] != 1 {
			t.Errorf("%s: counters %v, want %s", tc.name, delta, tc.want)
		}
	}
	total := 0
	for _, n := range shardsOf(t, c) {
		total += n
	}
	if total != 2 {
		t.Errorf("%d snapshots in the rings, want 2 (fin, other flow)", total)
	}
}

// TestMirrorDrops: a full ring loses snapshots and counts them for its
// shard; every frame is still passed and counted.
func TestMirrorDrops(t *testing.T) {
	c := load(t, Options{MirrorShards: 1, MirrorRingSize: uint32(os.Getpagesize())})
	const sent = 40
	for range sent {
		run(t, c, cToS().bytes(t))
	}
	m := counters(t, c)
	drops, err := c.MirrorDrops()
	if err != nil {
		t.Fatal(err)
	}
	if m["mirror_full"] == 0 || m["mirror_queued"]+m["mirror_full"] != sent {
		t.Errorf("queued %d + full %d, want some full and %d in all",
			m["mirror_queued"], m["mirror_full"], sent)
	}
	if len(drops) != 1 || drops[0] != m["mirror_full"] {
		t.Errorf("drops per shard %v, want [%d]", drops, m["mirror_full"])
	}
	if n := len(drainMirror(t, c, 0)); uint64(n) != m["mirror_queued"] {
		t.Errorf("%d records in the ring, want %d", n, m["mirror_queued"])
	}
}

// TestReadMirror: the public reader delivers queued snapshots in order and
// returns nil once its context is cancelled.
func TestReadMirror(t *testing.T) {
	c := load(t, Options{MirrorShards: 1})
	var frames [][]byte
	for i := range 3 {
		f := cToS()
		f.seq = uint32(1000 + 100*i)
		frames = append(frames, f.bytes(t))
		run(t, c, frames[i])
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // a bound, not a timing
	defer cancel()
	var got [][]byte
	err := c.ReadMirror(ctx, 0, func(r MirrorRecord) {
		got = append(got, bytes.Clone(r.Data))
		if len(got) == len(frames) {
			cancel()
		}
	})
	if err != nil {
		t.Fatalf("read mirror: %v", err)
	}
	for i := range frames {
		if i >= len(got) || !bytes.Equal(got[i], frames[i][:len(got[i])]) {
			t.Fatalf("record %d does not start the frame sent %d-th", i, i)
		}
	}
}

// TestReadMirrorShard: a shard the classifier does not feed is an error.
func TestReadMirrorShard(t *testing.T) {
	c := load(t, Options{MirrorShards: 2})
	if err := c.ReadMirror(t.Context(), 2, func(MirrorRecord) {}); !errors.Is(err, ErrNoShard) {
		t.Errorf("shard 2 of 2: error %v, want ErrNoShard", err)
	}
}

// TestJumboFrame: a frame larger than one page reaches the program in
// several buffers (xdp.frags); it still matches, and its snapshot keeps the
// headers and SnapLen bytes with the whole length.
func TestJumboFrame(t *testing.T) {
	c := load(t, Options{MirrorShards: 1, SnapLen: 64})
	setBlocks(t, c, "0.0.0.0/0 0 198.51.100.20/32 443")
	f := cToS()
	f.payload = 8000
	data := f.bytes(t)
	run(t, c, data)
	reqs := drainInjects(t, c)
	if len(reqs) != 1 || reqs[0].PayloadLen != 8000 {
		t.Fatalf("requests %+v, want one with payload 8000", reqs)
	}
	recs := drainMirror(t, c, 0)
	if len(recs) != 1 || len(recs[0].Data) != 14+20+20+64 || int(recs[0].OrigLen) != len(data) {
		t.Fatalf("%d snapshots, want one of %d bytes of %d", len(recs), 14+20+20+64, len(data))
	}
	if !bytes.Equal(recs[0].Data, data[:len(recs[0].Data)]) {
		t.Error("snapshot bytes differ from the frame")
	}
}
