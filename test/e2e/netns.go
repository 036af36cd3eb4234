//go:build linux

package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"runtime"

	"github.com/vishvananda/netns"
)

// Do runs fn on an OS thread switched into the named network namespace,
// then switches the thread back. Sockets that fn opens keep that namespace
// for their whole life, whichever thread uses them later.
func Do(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() { errc <- doLocked(ns, fn) }()
	return <-errc
}

func doLocked(ns string, fn func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns of this thread: %w", err)
	}
	defer orig.Close()

	target, err := netns.GetFromName(ns)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open netns %q: %w", ns, err)
	}
	defer target.Close()

	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter netns %q: %w", ns, err)
	}
	ferr := fn()
	if err := netns.Set(orig); err != nil {
		// The thread stays locked: the runtime ends it with this goroutine
		// rather than let other goroutines run in the wrong namespace.
		return errors.Join(ferr, fmt.Errorf("leave netns %q: %w", ns, err))
	}
	runtime.UnlockOSThread()
	return ferr
}

// Listen opens a listener inside namespace ns.
func Listen(ns, network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := Do(ns, func() error {
		var err error
		ln, err = net.Listen(network, addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listen %s %q in %q: %w", network, addr, ns, err)
	}
	return ln, nil
}

// Dial connects from local (an address of ns, or "" for the default) to
// remote, inside namespace ns. Errors keep their syscall cause, so
// errors.Is(err, syscall.ECONNREFUSED) works.
func Dial(ctx context.Context, ns, local, remote string) (net.Conn, error) {
	d := net.Dialer{}
	if local != "" {
		la, err := net.ResolveTCPAddr("tcp", net.JoinHostPort(local, "0"))
		if err != nil {
			return nil, fmt.Errorf("local address %q: %w", local, err)
		}
		d.LocalAddr = la
	}
	c, err := dialIn(ctx, ns, &d, remote)
	if err != nil {
		return nil, fmt.Errorf("dial %q from %q in %q: %w", remote, local, ns, err)
	}
	return c, nil
}

// dialIn dials remote over TCP with d from inside namespace ns.
func dialIn(ctx context.Context, ns string, d *net.Dialer, remote string) (net.Conn, error) {
	var c net.Conn
	err := Do(ns, func() error {
		var err error
		c, err = d.DialContext(ctx, "tcp", remote)
		return err
	})
	return c, err
}

// Command returns a command that runs name inside namespace ns through
// `ip netns exec`, which execs in place: the command's pid is the pid of
// name itself, so signals reach it directly.
func Command(ctx context.Context, ns, name string, args ...string) *exec.Cmd {
	full := append([]string{"netns", "exec", ns, name}, args...)
	return exec.CommandContext(ctx, "ip", full...)
}

// Run runs name inside namespace ns and returns its combined output; a
// failure carries the output in its message.
func Run(ctx context.Context, ns, name string, args ...string) ([]byte, error) {
	out, err := Command(ctx, ns, name, args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s in %q: %w: %s", name, ns, err, out)
	}
	return out, nil
}
