package inject

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// lab is two namespaces of this test joined by a veth pair: the sensor
// side holds the management interface inj0 (198.51.100.2, 2001:db8:1::2)
// with default routes to the peer, which owns the gateway addresses
// (198.51.100.1, 2001:db8:1::1) and an on-link server (198.51.100.20,
// 2001:db8:1::20). A second veth pair inside the sensor (oth0, oth1) takes
// 203.0.113.128/25, a route that does not leave by the management interface.
type lab struct {
	sensor, peer string
}

func newLab(t testing.TB) *lab {
	t.Helper()
	l := &lab{sensor: fmt.Sprintf("sipt-inj-%d-s", os.Getpid()),
		peer: fmt.Sprintf("sipt-inj-%d-p", os.Getpid())}
	t.Cleanup(func() {
		for _, ns := range []string{l.sensor, l.peer} {
			_ = exec.Command("ip", "netns", "del", ns).Run()
		}
	})
	noDAD := []string{"sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
		"net.ipv6.conf.default.accept_dad=0"}
	steps := [][]string{
		{"ip", "netns", "add", l.sensor},
		{"ip", "netns", "add", l.peer},
		append([]string{"ip", "netns", "exec", l.sensor}, noDAD...),
		append([]string{"ip", "netns", "exec", l.peer}, noDAD...),
		{"ip", "-n", l.sensor, "link", "add", "inj0", "type", "veth",
			"peer", "name", "inj1", "netns", l.peer},
		{"ip", "-n", l.sensor, "addr", "add", "198.51.100.2/24", "dev", "inj0"},
		{"ip", "-n", l.sensor, "addr", "add", "2001:db8:1::2/64", "dev", "inj0", "nodad"},
		{"ip", "-n", l.sensor, "link", "set", "inj0", "up"},
		{"ip", "-n", l.sensor, "route", "add", "default", "via", "198.51.100.1"},
		{"ip", "-n", l.sensor, "-6", "route", "add", "default", "via", "2001:db8:1::1"},
		{"ip", "-n", l.sensor, "link", "add", "oth0", "type", "veth",
			"peer", "name", "oth1"},
		{"ip", "-n", l.sensor, "link", "set", "oth0", "up"},
		{"ip", "-n", l.sensor, "route", "add", "203.0.113.128/25", "dev", "oth0"},
		{"ip", "-n", l.peer, "addr", "add", "198.51.100.1/24", "dev", "inj1"},
		{"ip", "-n", l.peer, "addr", "add", "198.51.100.20/24", "dev", "inj1"},
		{"ip", "-n", l.peer, "addr", "add", "2001:db8:1::1/64", "dev", "inj1", "nodad"},
		{"ip", "-n", l.peer, "addr", "add", "2001:db8:1::20/64", "dev", "inj1", "nodad"},
		{"ip", "-n", l.peer, "link", "set", "inj1", "up"},
	}
	for _, s := range steps {
		if out, err := exec.Command(s[0], s[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(s, " "), err, out)
		}
	}
	l.waitCarrier(t)
	return l
}

// waitCarrier waits until both ends of the veth report carrier: until then
// the kernel drops neighbour solicitations and retries only after a second.
func (l *lab) waitCarrier(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, end := range [][2]string{{l.sensor, "inj0"}, {l.peer, "inj1"}} {
		for {
			ip := exec.Command("ip", "-n", end[0], "-o", "link", "show", end[1])
			out, err := ip.Output()
			if err == nil && strings.Contains(string(out), "state UP") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s in %s has no carrier: %s", end[1], end[0], out)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// in runs fn on a thread inside namespace ns. Sockets fn opens stay in ns.
func (l *lab) in(t testing.TB, ns string, fn func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // left locked (thread discarded) if restoring fails
		orig, err := netns.Get()
		if err != nil {
			done <- err
			return
		}
		defer orig.Close()
		target, err := netns.GetFromName(ns)
		if err != nil {
			done <- err
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			done <- err
			return
		}
		fn()
		if err := netns.Set(orig); err == nil {
			runtime.UnlockOSThread()
		}
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatalf("enter netns %q: %v", ns, err)
	}
}

// capture is a plain AF_PACKET socket on the peer's end of the veth.
type capture struct {
	fd  int
	mac [6]byte
}

func (l *lab) capture(t *testing.T) *capture {
	t.Helper()
	c := &capture{fd: -1}
	var err error
	l.in(t, l.peer, func() {
		c.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return
		}
		var ifi *net.Interface
		if ifi, err = net.InterfaceByName("inj1"); err != nil {
			return
		}
		copy(c.mac[:], ifi.HardwareAddr)
		err = unix.Bind(c.fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL),
			Ifindex: ifi.Index})
	})
	if err != nil {
		t.Fatalf("capture socket: %v", err)
	}
	t.Cleanup(func() { unix.Close(c.fd) })
	tv := unix.NsecToTimeval((50 * time.Millisecond).Nanoseconds())
	err = unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// received holds the incoming frames a capture saw, sorted by kind.
type received struct {
	tcp       [][]byte
	arpFor    []string // targets of ARP requests
	solicited []string // targets of neighbour solicitations
}

// read collects incoming frames until want TCP frames arrived or the
// deadline passed.
func (c *capture) read(t *testing.T, want int, within time.Duration) received {
	t.Helper()
	var r received
	buf := make([]byte, 2048)
	deadline := time.Now().Add(within)
	for len(r.tcp) < want && time.Now().Before(deadline) {
		n, from, err := unix.Recvfrom(c.fd, buf, 0)
		if err != nil {
			continue // timeout tick or interruption
		}
		ll, ok := from.(*unix.SockaddrLinklayer)
		if ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		r.add(buf[:n])
	}
	return r
}

func (r *received) add(f []byte) {
	switch {
	case len(f) >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 1:
		r.arpFor = append(r.arpFor, fmt.Sprintf("%d.%d.%d.%d", f[38], f[39], f[40], f[41]))
	case len(f) >= 54 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 6:
		r.tcp = append(r.tcp, append([]byte(nil), f...))
	case len(f) >= 54 && f[12] == 0x86 && f[13] == 0xdd && f[20] == 6:
		r.tcp = append(r.tcp, append([]byte(nil), f...))
	case len(f) >= 78 && f[12] == 0x86 && f[13] == 0xdd && f[20] == 58 && f[54] == 135:
		r.solicited = append(r.solicited, netip.AddrFrom16([16]byte(f[62:78])).String())
	}
}
