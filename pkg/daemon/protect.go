package daemon

import (
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"

	"github.com/softips/softips/pkg/blocktable"
	"github.com/softips/softips/pkg/flowspec"
)

// protectedPrefixes finds what softips must never block or reset (F5): the
// sensor's own addresses, the networks of its management interface, and
// its gateways. Configuration adds the allowlist on top.
func protectedPrefixes(ifaces ...string) ([]blocktable.Protected, error) {
	var out []blocktable.Protected
	for i, name := range ifaces {
		link, err := netlink.LinkByName(name)
		if err != nil {
			return nil, fmt.Errorf("interface %q: %w", name, err)
		}
		addrs, err := netlink.AddrList(link, netlink.FAMILY_ALL)
		if err != nil {
			return nil, fmt.Errorf("addresses of %q: %w", name, err)
		}
		for _, a := range addrs {
			p, ok := prefixOf(a)
			if !ok {
				continue
			}
			out = append(out, blocktable.Protected{Prefix: flowspec.Host(p.Addr()), Label: "sensor " + name})
			if i == 0 && !p.Addr().IsLinkLocalUnicast() { // fe80::/64 is every link's
				out = append(out, blocktable.Protected{Prefix: p.Masked(),
					Label: "management network"})
			}
		}
	}
	gws, err := gateways()
	if err != nil {
		return nil, err
	}
	return append(out, gws...), nil
}

func gateways() ([]blocktable.Protected, error) {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	var out []blocktable.Protected
	for _, r := range routes {
		gw, ok := netip.AddrFromSlice(r.Gw)
		if !ok || gw.Unmap().IsLinkLocalUnicast() {
			continue
		}
		out = append(out, blocktable.Protected{Prefix: flowspec.Host(gw), Label: "gateway"})
	}
	return out, nil
}

func prefixOf(a netlink.Addr) (netip.Prefix, bool) {
	ip, ok := netip.AddrFromSlice(a.IP)
	if !ok || a.IPNet == nil {
		return netip.Prefix{}, false
	}
	ones, _ := a.Mask.Size()
	return netip.PrefixFrom(ip.Unmap(), ones), true
}

func prefixes(ps []blocktable.Protected) []netip.Prefix {
	out := make([]netip.Prefix, len(ps))
	for i, p := range ps {
		out[i] = p.Prefix
	}
	return out
}
