package kernel

import (
	"encoding/binary"
	"fmt"
)

// filterWords is the size of the kernel's block filter in 64-bit words.
const filterWords = 16384

// blockFilter mirrors the kernel's one-hash Bloom filter over block keys.
type blockFilter [filterWords]uint64

// keyHash is the kernel's key_hash: the same mix over the key's ten
// native-endian 32-bit words.
func keyHash(k *bpfSoftipsBlockKey) uint32 {
	var b [40]byte
	b[0], b[1], b[2], b[3] = k.Shape.Family, k.Shape.SrcPlen, k.Shape.DstPlen, k.Shape.Flags
	binary.NativeEndian.PutUint16(b[4:], k.Sport)
	binary.NativeEndian.PutUint16(b[6:], k.Dport)
	copy(b[8:], k.Src[:])
	copy(b[24:], k.Dst[:])
	h := uint32(0x2545f491)
	for i := 0; i < len(b); i += 4 {
		h ^= binary.NativeEndian.Uint32(b[i:])
		h *= 0x9e3779b1
		h ^= h >> 15
	}
	h *= 0x85ebca6b
	h ^= h >> 13
	return h
}

// filterOf sets the bit of every key.
func filterOf(keys map[bpfSoftipsBlockKey]uint64) *blockFilter {
	f := new(blockFilter)
	for k := range keys {
		h := keyHash(&k)
		f[(h>>6)&(filterWords-1)] |= 1 << (h & 63)
	}
	return f
}

// union returns the bits of f or g.
func (f *blockFilter) union(g *blockFilter) *blockFilter {
	u := new(blockFilter)
	for i := range u {
		u[i] = f[i] | g[i]
	}
	return u
}

// writeFilter makes the kernel filter equal to f, writing changed words.
func (c *Classifier) writeFilter(f *blockFilter) error {
	for i, w := range f {
		if w == c.filter[i] {
			continue
		}
		if err := c.objs.BlockFilter.Put(uint32(i), w); err != nil {
			return fmt.Errorf("write block filter word %d: %w", i, err)
		}
		c.filter[i] = w
	}
	return nil
}
