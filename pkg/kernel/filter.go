package kernel

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
)

// addrBuckets is the size of the kernel's address filter (SOFTIPS_ADDR_BUCKETS).
const addrBuckets = 1 << 20

// filterBits is how many shapes can own a filter bit at once: the active
// set and the set replacing it.
const filterBits = 64

// addrFilter mirrors the nonzero buckets of the kernel's address filter.
type addrFilter map[uint32]bpfSoftipsAddrBits

// addrBucket is the kernel's addr_bucket for an address already masked to
// plen, in the kernel's 16-byte form: IPv4 hashes its one word only.
func addrBucket(family, plen uint8, a *[16]uint8) uint32 {
	h := uint32(0x2545f491) ^ (uint32(family)<<8 | uint32(plen))
	n := 16
	if family == 4 {
		n = 4
	}
	for i := 0; i < n; i += 4 {
		h ^= binary.NativeEndian.Uint32(a[i:])
		h *= 0x9e3779b1
		h ^= h >> 15
	}
	h *= 0x85ebca6b
	h ^= h >> 13
	return h & (addrBuckets - 1)
}

// filterOf sets, for every key, its shape's bit on each fixed side.
func filterOf(keys map[bpfSoftipsBlockKey]uint64, bits map[bpfSoftipsShape]uint8) addrFilter {
	f := make(addrFilter)
	for k := range keys {
		bit := uint64(1) << bits[k.Shape]
		if k.Shape.SrcPlen != 0 {
			b := addrBucket(k.Shape.Family, k.Shape.SrcPlen, &k.Src)
			v := f[b]
			v.Src |= bit
			f[b] = v
		}
		if k.Shape.DstPlen != 0 {
			b := addrBucket(k.Shape.Family, k.Shape.DstPlen, &k.Dst)
			v := f[b]
			v.Dst |= bit
			f[b] = v
		}
	}
	return f
}

// union returns the bits of f or g.
func (f addrFilter) union(g addrFilter) addrFilter {
	u := maps.Clone(f)
	for b, w := range g {
		v := u[b]
		v.Src |= w.Src
		v.Dst |= w.Dst
		u[b] = v
	}
	return u
}

// writeFilter makes the kernel filter equal to f, writing changed buckets.
func (c *Classifier) writeFilter(f addrFilter) error {
	for b, v := range f {
		if v == c.filter[b] {
			continue
		}
		if err := c.objs.AddrFilter.Put(b, &v); err != nil {
			return fmt.Errorf("write address filter bucket %d: %w", b, err)
		}
		c.filter[b] = v
	}
	for b := range c.filter {
		if _, ok := f[b]; ok {
			continue
		}
		if err := c.objs.AddrFilter.Put(b, &bpfSoftipsAddrBits{}); err != nil {
			return fmt.Errorf("clear address filter bucket %d: %w", b, err)
		}
		delete(c.filter, b)
	}
	return nil
}

// allocBits gives every shape of shapes that has none the lowest free bit.
func (c *Classifier) allocBits(shapes []bpfSoftipsShape) error {
	used := make(map[uint8]bool, len(c.bits))
	for _, b := range c.bits {
		used[b] = true
	}
	for _, sh := range shapes {
		if _, ok := c.bits[sh]; ok {
			continue
		}
		b := uint8(0)
		for used[b] {
			b++
		}
		if b >= filterBits {
			return fmt.Errorf("filter bit for shape %v: %w", sh, ErrTooManyShapes)
		}
		c.bits[sh] = b
		used[b] = true
	}
	return nil
}

// freeBits releases the bits of shapes not in keep.
func (c *Classifier) freeBits(keep []bpfSoftipsShape) {
	for sh := range c.bits {
		if !slices.Contains(keep, sh) {
			delete(c.bits, sh)
		}
	}
}

// fillFilterFields writes the filter bits, the prefix lengths to probe and
// the wildcard sides of shapes into set.
func (c *Classifier) fillFilterFields(set *bpfSoftipsShapeSet, shapes []bpfSoftipsShape) {
	var lens [2][]uint8
	for i, sh := range shapes {
		b := c.bits[sh]
		set.Bits[i] = b
		f := 0
		if sh.Family == 6 {
			f = 1
		}
		for _, plen := range []uint8{sh.SrcPlen, sh.DstPlen} {
			if plen != 0 && !slices.Contains(lens[f], plen) {
				lens[f] = append(lens[f], plen)
			}
		}
		if sh.SrcPlen == 0 {
			set.AnySrc[f] |= 1 << b
		}
		if sh.DstPlen == 0 {
			set.AnyDst[f] |= 1 << b
		}
	}
	n := 0
	for f, family := range []uint8{4, 6} {
		set.PlenCount[f] = uint32(len(lens[f]))
		for _, plen := range lens[f] {
			set.Plens[n].Family, set.Plens[n].Plen = family, plen
			set.Plens[n].Mask = maskWords(plen)
			n++
		}
	}
}
