//go:build linux

package e2e

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DialFrom connects from the fixed address and port local to remote inside
// namespace ns. The socket has SO_REUSEADDR, so the same source port can
// dial one remote after another, and SO_LINGER 0, so closing it sends a
// RST and leaves no TIME_WAIT behind to stall the next run.
func DialFrom(ctx context.Context, ns string, local netip.AddrPort,
	remote string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(local), Control: reuseAddr}
	c, err := dialIn(ctx, ns, &d, remote)
	if err != nil {
		return nil, fmt.Errorf("dial %q from %v in %q: %w", remote, local, ns, err)
	}
	if err := c.(*net.TCPConn).SetLinger(0); err != nil {
		c.Close()
		return nil, fmt.Errorf("dial %q from %v: linger: %w", remote, local, err)
	}
	return c, nil
}

func reuseAddr(_, _ string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// ProbeFrom is ProbeHold from the fixed source local (see DialFrom).
func ProbeFrom(ctx context.Context, ns string, local netip.AddrPort, remote string,
	wait time.Duration) Outcome {
	dctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	c, err := DialFrom(dctx, ns, local, remote)
	if err != nil {
		ep := newEndpoint("client-probe", nil)
		ep.o.Local = local
		ep.finish(err)
		return ep.Snapshot()
	}
	return ProbeOn(c, wait, true)
}
