package av

import (
	"fmt"
	"net/netip"

	"github.com/softips/softips/pkg/flowspec"
)

// Block policies for BlockSpec.
const (
	PolicyClientServerPort = "client-server-port" // client/32 0 server/32 serverport
	PolicyClient           = "client"             // client/32 0 any 0
	PolicyPair             = "pair"               // client/32 0 server/32 0
)

// BlockSpec turns a hit in the flow between client and server into a block
// signal under the named policy; "" means PolicyClientServerPort.
func BlockSpec(policy string, client, server netip.AddrPort) (flowspec.Spec, error) {
	c, s := client.Addr().Unmap(), server.Addr().Unmap()
	if !c.IsValid() || !s.IsValid() {
		return flowspec.Spec{}, fmt.Errorf("block spec: invalid address %q or %q",
			client, server)
	}
	sp := flowspec.Spec{Src: flowspec.Host(c)}
	switch policy {
	case "", PolicyClientServerPort:
		sp.Dst, sp.DstPort = flowspec.Host(s), server.Port()
	case PolicyClient:
		sp.Dst = netip.PrefixFrom(anyAddr(c), 0)
	case PolicyPair:
		sp.Dst = flowspec.Host(s)
	default:
		return flowspec.Spec{}, fmt.Errorf("block spec policy %q: %w", policy, ErrUnknownPolicy)
	}
	if err := sp.Validate(); err != nil {
		return flowspec.Spec{}, fmt.Errorf("block spec %q: %w", sp, err)
	}
	return sp, nil
}

func anyAddr(a netip.Addr) netip.Addr {
	if a.Is4() {
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}
