package kernel

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// netnsLab is a namespace of our own holding one veth pair, a and b.
type netnsLab struct{ name, a, b string }

func newNetnsLab(t *testing.T) netnsLab {
	t.Helper()
	lab := netnsLab{name: fmt.Sprintf("sipt-bpf-%d", os.Getpid()), a: "sipt0", b: "sipt1"}
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	ip("netns", "add", lab.name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", lab.name).Run() })
	ip("-n", lab.name, "link", "add", lab.a, "type", "veth", "peer", "name", lab.b)
	ip("-n", lab.name, "link", "set", lab.a, "up")
	ip("-n", lab.name, "link", "set", lab.b, "up")
	return lab
}

// do runs fn on a thread moved into the lab's namespace, then moves back.
func (l netnsLab) do(t *testing.T, fn func()) {
	t.Helper()
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	target, err := os.Open("/var/run/netns/" + l.name)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		t.Fatalf("enter netns %q: %v", l.name, err)
	}
	defer func() {
		// A thread that cannot go back stays locked and dies with the goroutine.
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err == nil {
			runtime.UnlockOSThread()
		}
	}()
	fn()
}

// sendRaw writes one frame out of ifname with an AF_PACKET socket.
func sendRaw(t *testing.T, ifname string, frame []byte) {
	t.Helper()
	ifc, err := net.InterfaceByName(ifname)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	if err != nil {
		t.Fatalf("packet socket: %v", err)
	}
	defer unix.Close(fd)
	addr := &unix.SockaddrLinklayer{Ifindex: ifc.Index, Halen: 6}
	if err := unix.Sendto(fd, frame, 0, addr); err != nil {
		t.Fatalf("send on %q: %v", ifname, err)
	}
}

// TestAttachVeth attaches the classifier to one end of a veth pair inside
// a namespace of our own, sends a matching frame from the peer, and reads
// the inject request through ReadInjects.
func TestAttachVeth(t *testing.T) {
	c := load(t, Options{})
	lab := newNetnsLab(t)
	setBlocks(t, c, "0.0.0.0/0 0 198.51.100.20/32 443")
	lab.do(t, func() {
		if err := c.Attach(lab.a); err != nil {
			t.Fatalf("attach: %v", err)
		}
		sendRaw(t, lab.b, cToS().bytes(t))
	})
	if c.AttachMode() == "" {
		t.Fatal("attach mode empty after attach")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got := make(chan InjectRequest, 16)
	done := make(chan error, 1)
	go func() {
		done <- c.ReadInjects(ctx, func(r InjectRequest) { got <- r; cancel() })
	}()
	if err := <-done; err != nil {
		t.Fatalf("read injects: %v", err)
	}
	m := counters(t, c)
	if m["packets"] == 0 {
		t.Fatalf("packets counter did not move on %s (%s mode): rig is broken (F6)",
			lab.a, c.AttachMode())
	}
	if len(got) != 1 {
		t.Fatalf("%d inject requests within 5s, want 1 (counters %v)", len(got), m)
	}
	if r := <-got; r.Seq != 1000 || r.EntryID != 100 {
		t.Errorf("request %+v, want seq 1000 entry 100", r)
	}
	if err := c.Detach(); err != nil {
		t.Fatal(err)
	}
	if c.AttachMode() != "" {
		t.Error("attach mode set after detach")
	}
}
