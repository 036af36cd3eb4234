package inject

import (
	"hash/maphash"
	"net/netip"
)

// ttlCache remembers the TTL last observed from an address, in a fixed
// number of direct-mapped slots: bounded, allocation-free, and a collision
// simply forgets the older address (it falls back to the default TTL).
type ttlCache struct {
	seed  maphash.Seed
	slots []ttlSlot
}

type ttlSlot struct {
	addr netip.Addr
	ttl  uint8
}

func newTTLCache(size int) *ttlCache {
	return &ttlCache{seed: maphash.MakeSeed(), slots: make([]ttlSlot, max(size, 1))}
}

func (c *ttlCache) slot(a netip.Addr) *ttlSlot {
	h := maphash.Comparable(c.seed, a)
	return &c.slots[h%uint64(len(c.slots))]
}

// put records ttl as last seen from a; a zero TTL is no observation.
func (c *ttlCache) put(a netip.Addr, ttl uint8) {
	if ttl != 0 {
		*c.slot(a) = ttlSlot{addr: a, ttl: ttl}
	}
}

// get returns the TTL last seen from a, or 0.
func (c *ttlCache) get(a netip.Addr) uint8 {
	if s := c.slot(a); s.addr == a {
		return s.ttl
	}
	return 0
}
