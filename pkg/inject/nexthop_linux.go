package inject

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Errors of next-hop resolution, for callers to test with errors.Is.
var (
	ErrNoRoute        = errors.New("no route")
	ErrWrongInterface = errors.New("route leaves by another interface")
	ErrNoNeighbour    = errors.New("next hop not resolved")
)

// maxCached bounds each of the route and neighbour caches; a full cache is
// emptied rather than grown.
const maxCached = 4096

// Neighbour states whose link-layer address can be used as is.
const usableNUD = netlink.NUD_REACHABLE | netlink.NUD_STALE | netlink.NUD_DELAY |
	netlink.NUD_PROBE | netlink.NUD_PERMANENT | netlink.NUD_NOARP

// cached is a resolved value (or a failure) and when it expires.
type cached[T any] struct {
	val T
	err error
	exp time.Time
}

// resolver finds the Ethernet address of the next hop toward a destination
// through one interface, from the kernel's route and neighbour tables.
type resolver struct {
	h       *netlink.Handle
	ifindex int
	ifname  string
	opts    SenderOptions
	hops    map[netip.Addr]cached[netip.Addr]
	macs    map[netip.Addr]cached[[6]byte]
}

func newResolver(h *netlink.Handle, ifindex int, ifname string, o SenderOptions) *resolver {
	return &resolver{h: h, ifindex: ifindex, ifname: ifname, opts: o,
		hops: make(map[netip.Addr]cached[netip.Addr]),
		macs: make(map[netip.Addr]cached[[6]byte])}
}

// resolve returns the MAC of the next hop toward dst.
func (r *resolver) resolve(dst netip.Addr) ([6]byte, error) {
	now := time.Now()
	hop, err := lookupCached(r.hops, dst, now, r.opts, r.nextHop)
	if err != nil {
		return [6]byte{}, err
	}
	return lookupCached(r.macs, hop, now, r.opts, r.neighbour)
}

// lookupCached answers from m while fresh, else from fetch; results stay
// for CacheTTL, failures for NegativeTTL.
func lookupCached[T any](m map[netip.Addr]cached[T], k netip.Addr, now time.Time,
	o SenderOptions, fetch func(netip.Addr) (T, error)) (T, error) {
	if c, ok := m[k]; ok && now.Before(c.exp) {
		return c.val, c.err
	}
	v, err := fetch(k)
	ttl := o.CacheTTL
	if err != nil {
		ttl = o.NegativeTTL
	}
	if len(m) >= maxCached {
		clear(m)
	}
	m[k] = cached[T]{val: v, err: err, exp: now.Add(ttl)}
	return v, err
}

// nextHop asks the route table where dst goes: its gateway, or dst itself
// when on-link. A route through another interface is an error: the RSTs
// leave by the management interface or not at all.
func (r *resolver) nextHop(dst netip.Addr) (netip.Addr, error) {
	routes, err := r.h.RouteGet(dst.AsSlice())
	if err != nil {
		return netip.Addr{}, fmt.Errorf("route to %s: %w: %w", dst, ErrNoRoute, err)
	}
	if len(routes) == 0 {
		return netip.Addr{}, fmt.Errorf("route to %s: %w", dst, ErrNoRoute)
	}
	rt := routes[0]
	if rt.LinkIndex != r.ifindex {
		return netip.Addr{}, fmt.Errorf("route to %s: %w: ifindex %d, not %q",
			dst, ErrWrongInterface, rt.LinkIndex, r.ifname)
	}
	if gw, ok := netip.AddrFromSlice(rt.Gw); ok && !gw.IsUnspecified() {
		return gw.Unmap(), nil
	}
	return dst, nil
}

// neighbour returns hop's MAC from the neighbour table. When it is not
// there the kernel is asked to resolve that one address (NTF_USE), and the
// table is read again until ResolveTimeout.
func (r *resolver) neighbour(hop netip.Addr) ([6]byte, error) {
	mac, state, err := r.readNeighbour(hop)
	if err == nil && state&usableNUD != 0 {
		if state&netlink.NUD_STALE != 0 {
			_ = r.poke(hop) // have the kernel re-confirm it; use it meanwhile
		}
		return mac, nil
	}
	if err := r.poke(hop); err != nil {
		return mac, fmt.Errorf("resolve %s on %q: %w: %w", hop, r.ifname,
			ErrNoNeighbour, err)
	}
	deadline := time.Now().Add(r.opts.ResolveTimeout)
	for time.Now().Before(deadline) {
		time.Sleep(resolvePoll)
		mac, state, err = r.readNeighbour(hop)
		if err == nil && state&usableNUD != 0 {
			return mac, nil
		}
	}
	return mac, fmt.Errorf("resolve %s on %q within %v: %w", hop, r.ifname,
		r.opts.ResolveTimeout, ErrNoNeighbour)
}

const resolvePoll = 2 * time.Millisecond

// errNotFound is readNeighbour's answer for an address not in the table.
var errNotFound = errors.New("not in neighbour table")

func (r *resolver) readNeighbour(hop netip.Addr) ([6]byte, int, error) {
	family := netlink.FAMILY_V4
	if hop.Is6() {
		family = netlink.FAMILY_V6
	}
	neighs, err := r.h.NeighList(r.ifindex, family)
	if err != nil {
		return [6]byte{}, 0, fmt.Errorf("list neighbours of %q: %w", r.ifname, err)
	}
	for _, n := range neighs {
		ip, _ := netip.AddrFromSlice(n.IP)
		if ip.Unmap() == hop && len(n.HardwareAddr) == 6 {
			return [6]byte(n.HardwareAddr), n.State, nil
		}
	}
	return [6]byte{}, 0, errNotFound
}

// poke asks the kernel to resolve hop on the interface: a neighbour entry
// is created if needed and an ARP or neighbour solicitation goes to hop
// only.
func (r *resolver) poke(hop netip.Addr) error {
	family := netlink.FAMILY_V4
	if hop.Is6() {
		family = netlink.FAMILY_V6
	}
	return r.h.NeighSet(&netlink.Neigh{LinkIndex: r.ifindex, Family: family,
		IP: hop.AsSlice(), Flags: netlink.NTF_USE, State: unix.NUD_NONE})
}
