package kernel

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/cilium/ebpf"

	"github.com/softips/softips/pkg/flowspec"
)

// MaxShapes is how many distinct shapes the kernel searches per packet.
const MaxShapes = 32

// ErrTooManyShapes is returned by SetBlocks when the entries need more
// distinct shapes than the kernel searches.
var ErrTooManyShapes = errors.New("too many distinct shapes")

// ErrDuplicateSpec is returned by SetBlocks when two entries with different
// ids have the same spec.
var ErrDuplicateSpec = errors.New("two entries with one spec")

// Entry is one block-table entry as the kernel sees it.
type Entry struct {
	ID   uint64
	Spec flowspec.Spec
}

// Hit is how often an entry matched and when it last did.
type Hit struct {
	Hits    uint64
	LastHit time.Time // zero when it never matched
}

// shapeOf is the tuple-space shape of s.
func shapeOf(s flowspec.Spec) bpfSoftipsShape {
	sh := bpfSoftipsShape{Family: 4, SrcPlen: uint8(s.Src.Bits()),
		DstPlen: uint8(s.Dst.Bits())}
	if s.Is6() {
		sh.Family = 6
	}
	if s.SrcPort != 0 {
		sh.Flags |= 1
	}
	if s.DstPort != 0 {
		sh.Flags |= 2
	}
	return sh
}

// keyOf is the block key of s as the kernel builds it from a packet.
func keyOf(s flowspec.Spec) bpfSoftipsBlockKey {
	k := bpfSoftipsBlockKey{Shape: shapeOf(s), Sport: s.SrcPort, Dport: s.DstPort}
	putAddr(&k.Src, s.Src.Addr())
	putAddr(&k.Dst, s.Dst.Addr())
	return k
}

// putAddr stores a in the kernel's 16-byte form: IPv4 in the first 4 bytes.
func putAddr(dst *[16]uint8, a netip.Addr) {
	if a.Is4() {
		b := a.As4()
		copy(dst[:], b[:])
		return
	}
	*dst = a.As16()
}

// desired turns entries into keys and checks them.
func desired(entries []Entry) (map[bpfSoftipsBlockKey]uint64, error) {
	want := make(map[bpfSoftipsBlockKey]uint64, len(entries))
	for i, e := range entries {
		if err := e.Spec.Validate(); err != nil {
			return nil, fmt.Errorf("entry %d (id %d) %q: %w", i, e.ID, e.Spec, err)
		}
		k := keyOf(e.Spec)
		if id, ok := want[k]; ok && id != e.ID {
			return nil, fmt.Errorf("entries %d and %d %q: %w", id, e.ID, e.Spec,
				ErrDuplicateSpec)
		}
		want[k] = e.ID
	}
	return want, nil
}

// shapesOf lists the distinct shapes of keys, most specific first, so the
// first match the kernel reports is the narrowest entry.
func shapesOf(keys map[bpfSoftipsBlockKey]uint64) []bpfSoftipsShape {
	seen := make(map[bpfSoftipsShape]bool)
	var out []bpfSoftipsShape
	for k := range keys {
		if !seen[k.Shape] {
			seen[k.Shape] = true
			out = append(out, k.Shape)
		}
	}
	slices.SortFunc(out, func(a, b bpfSoftipsShape) int {
		if c := cmp.Compare(weight(b), weight(a)); c != 0 {
			return c
		}
		return cmp.Compare(shapeID(a), shapeID(b))
	})
	return out
}

func weight(s bpfSoftipsShape) int {
	return int(s.SrcPlen) + int(s.DstPlen) + 16*int(s.Flags&1) + 8*int(s.Flags&2)
}

func shapeID(s bpfSoftipsShape) uint32 {
	return uint32(s.Family)<<24 | uint32(s.SrcPlen)<<16 | uint32(s.DstPlen)<<8 |
		uint32(s.Flags)
}

// SetBlocks makes the kernel block table equal to entries: address filter
// bits and new or changed entries are written first, then the shape set is
// widened, stale entries are deleted, and finally the shape set and the
// filter are narrowed to what remains, so a packet matching an entry
// present before and after never misses.
func (c *Classifier) SetBlocks(entries []Entry) error {
	want, err := desired(entries)
	if err != nil {
		return fmt.Errorf("set blocks: %w", err)
	}
	final := shapesOf(want)
	if len(final) > MaxShapes {
		return fmt.Errorf("set blocks: %w: %d > %d", ErrTooManyShapes, len(final), MaxShapes)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.allocBits(final); err != nil {
		return fmt.Errorf("set blocks: %w", err)
	}
	bits := filterOf(want, c.bits)
	if err := c.writeFilter(bits.union(c.filter)); err != nil {
		return fmt.Errorf("set blocks: %w", err)
	}
	if err := c.writeChanged(want); err != nil {
		return fmt.Errorf("set blocks: %w", err)
	}
	if union := unionShapes(c.shapes, final); len(union) <= MaxShapes {
		if err := c.writeShapes(union); err != nil {
			return fmt.Errorf("set blocks: %w", err)
		}
	}
	if err := c.deleteStale(want); err != nil {
		return fmt.Errorf("set blocks: %w", err)
	}
	if err := c.writeShapes(final); err != nil {
		return fmt.Errorf("set blocks: %w", err)
	}
	if err := c.writeFilter(bits); err != nil {
		return fmt.Errorf("set blocks: %w", err)
	}
	c.freeBits(final)
	return nil
}

// maskWords is the prefix mask of length bits as the kernel ANDs it: four
// words whose bytes in memory are the mask in network order.
func maskWords(bits uint8) [4]uint32 {
	var b [16]byte
	for i := range b {
		n := min(max(int(bits)-8*i, 0), 8)
		b[i] = byte(0xff << (8 - n))
	}
	var w [4]uint32
	for i := range w {
		w[i] = binary.NativeEndian.Uint32(b[4*i:])
	}
	return w
}

func unionShapes(a, b []bpfSoftipsShape) []bpfSoftipsShape {
	out := slices.Clone(b)
	for _, s := range a {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// writeChanged writes keys that are new or now belong to another entry.
func (c *Classifier) writeChanged(want map[bpfSoftipsBlockKey]uint64) error {
	for k, id := range want {
		if old, ok := c.blocks[k]; ok && old == id {
			continue
		}
		v := bpfSoftipsBlockVal{EntryId: id}
		if err := c.objs.Blocks.Update(&k, &v, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("write entry %d: %w", id, err)
		}
		c.blocks[k] = id
	}
	return nil
}

// deleteStale removes keys that no entry wants any more.
func (c *Classifier) deleteStale(want map[bpfSoftipsBlockKey]uint64) error {
	for k, id := range c.blocks {
		if _, ok := want[k]; ok {
			continue
		}
		err := c.objs.Blocks.Delete(&k)
		if err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("delete entry %d: %w", id, err)
		}
		delete(c.blocks, k)
	}
	return nil
}

// shapeSlots is how many shape sets rotate in the kernel (SOFTIPS_SHAPE_SLOTS).
const shapeSlots = 3

// writeShapes publishes a shape set: it fills the next slot, which no
// packet reads, then makes it live. A packet that began on the slot before
// keeps a consistent set until two more changes have been made.
func (c *Classifier) writeShapes(shapes []bpfSoftipsShape) error {
	if slices.Equal(shapes, c.shapes) {
		return nil
	}
	c.gen++
	set := bpfSoftipsShapeSet{Count: uint32(len(shapes)), Generation: c.gen}
	copy(set.Shapes[:], shapes)
	for i, sh := range shapes {
		set.Masks[i].Src = maskWords(sh.SrcPlen)
		set.Masks[i].Dst = maskWords(sh.DstPlen)
	}
	c.fillFilterFields(&set, shapes)
	slot := c.gen % shapeSlots
	if err := c.objs.Shapes.Update(slot, &set, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("write shape set: %w", err)
	}
	if err := c.objs.ShapeSlot.Update(uint32(0), slot, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("switch shape set: %w", err)
	}
	c.shapes = slices.Clone(shapes)
	return nil
}

// Shapes returns how many distinct shapes the kernel searches now.
func (c *Classifier) Shapes() (int, error) {
	var slot uint32
	if err := c.objs.ShapeSlot.Lookup(uint32(0), &slot); err != nil {
		return 0, fmt.Errorf("read shape slot: %w", err)
	}
	var set bpfSoftipsShapeSet
	if err := c.objs.Shapes.Lookup(slot, &set); err != nil {
		return 0, fmt.Errorf("read shape set %d: %w", slot, err)
	}
	return int(set.Count), nil
}

// Hits reads every entry's hit count and last hit time, keyed by entry id.
func (c *Classifier) Hits() (map[uint64]Hit, error) {
	clk := newMonoClock()
	out := make(map[uint64]Hit)
	err := c.eachBlock(func(v *bpfSoftipsBlockVal) {
		h := out[v.EntryId]
		h.Hits += v.Hits
		if t := clk.wall(v.LastHitNs); t.After(h.LastHit) {
			h.LastHit = t
		}
		out[v.EntryId] = h
	})
	if err != nil {
		return nil, fmt.Errorf("read hits: %w", err)
	}
	return out, nil
}

// hitBatch is how many block entries one batch lookup reads.
const hitBatch = 4096

// eachBlock calls fn for every value of the blocks map, in batches where
// the kernel supports it (a 100,000-entry table reads in a few syscalls).
func (c *Classifier) eachBlock(fn func(*bpfSoftipsBlockVal)) error {
	var cursor ebpf.MapBatchCursor
	keys := make([]bpfSoftipsBlockKey, hitBatch)
	vals := make([]bpfSoftipsBlockVal, hitBatch)
	for {
		n, err := c.objs.Blocks.BatchLookup(&cursor, keys, vals, nil)
		for i := range vals[:n] {
			fn(&vals[i])
		}
		switch {
		case errors.Is(err, ebpf.ErrKeyNotExist):
			return nil
		case errors.Is(err, ebpf.ErrNotSupported) && n == 0:
			return c.iterateBlocks(fn)
		case err != nil:
			return err
		}
	}
}

func (c *Classifier) iterateBlocks(fn func(*bpfSoftipsBlockVal)) error {
	var k bpfSoftipsBlockKey
	var v bpfSoftipsBlockVal
	it := c.objs.Blocks.Iterate()
	for it.Next(&k, &v) {
		fn(&v)
	}
	return it.Err()
}
