//go:build linux

package e2e

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Capture bounds.
const (
	captureSnap = 2048 // more than any lab frame (offloads are off)
	pollEvery   = 100 * time.Millisecond
)

// Capturer collects frames from one interface of a namespace through an
// AF_PACKET socket opened inside that namespace.
type Capturer struct {
	fd     int
	mu     sync.Mutex
	frames [][]byte
	done   chan struct{}
	err    error
}

// StartCapture opens the socket at once (so nothing sent after it returns
// is missed) and collects frames until maxFrames frames or dur, whichever first.
func StartCapture(ns, ifname string, maxFrames int, dur time.Duration) (*Capturer, error) {
	fd, err := packetSocket(ns, ifname)
	if err != nil {
		return nil, fmt.Errorf("capture on %q in %q: %w", ifname, ns, err)
	}
	c := &Capturer{fd: fd, done: make(chan struct{})}
	go c.loop(maxFrames, time.Now().Add(dur))
	return c, nil
}

func packetSocket(ns, ifname string) (int, error) {
	fd := -1
	err := Do(ns, func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		proto := int(htons(unix.ETH_P_ALL))
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return fmt.Errorf("socket: %w", err)
		}
		sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}
		if err := unix.Bind(fd, sa); err != nil {
			unix.Close(fd)
			return fmt.Errorf("bind: %w", err)
		}
		tv := unix.NsecToTimeval(pollEvery.Nanoseconds())
		return unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	})
	return fd, err
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (c *Capturer) loop(maxFrames int, deadline time.Time) {
	defer close(c.done)
	defer unix.Close(c.fd)
	buf := make([]byte, captureSnap)
	for n := 0; n < maxFrames && time.Now().Before(deadline); {
		k, _, err := unix.Recvfrom(c.fd, buf, 0)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			c.err = fmt.Errorf("recvfrom: %w", err)
			return
		}
		c.mu.Lock()
		c.frames = append(c.frames, append([]byte(nil), buf[:k]...))
		c.mu.Unlock()
		n++
	}
}

// Frames returns a copy of the list of frames captured so far.
func (c *Capturer) Frames() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.frames...)
}

// Segments decodes the TCP frames captured so far, skipping the rest.
func (c *Capturer) Segments() []Segment {
	var segs []Segment
	for _, f := range c.Frames() {
		if s, ok := ParseSegment(f); ok {
			segs = append(segs, s)
		}
	}
	return segs
}

// Wait blocks until the capture has ended (max frames or its duration)
// and returns the error that stopped it early, if any.
func (c *Capturer) Wait() error {
	<-c.done
	return c.err
}

// WaitFor polls the capture every few milliseconds until match accepts a
// segment or wait passes; it returns the first match.
func (c *Capturer) WaitFor(wait time.Duration, match func(Segment) bool) (Segment, bool) {
	deadline := time.Now().Add(wait)
	for seen := 0; time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		frames := c.Frames()
		for _, f := range frames[seen:] {
			if s, ok := ParseSegment(f); ok && match(s) {
				return s, true
			}
		}
		seen = len(frames)
	}
	return Segment{}, false
}

// Sender sends raw Ethernet frames out of one interface of a namespace.
// Keep one open: closing an AF_PACKET socket waits for an RCU grace
// period, milliseconds that would show up as reset latency.
type Sender struct {
	fd int
	sa unix.SockaddrLinklayer
}

// OpenSender opens an AF_PACKET socket on ifname inside namespace ns.
func OpenSender(ns, ifname string) (*Sender, error) {
	s := &Sender{fd: -1}
	err := Do(ns, func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		s.sa = unix.SockaddrLinklayer{Ifindex: ifi.Index, Halen: 6}
		s.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open sender on %q in %q: %w", ifname, ns, err)
	}
	return s, nil
}

// Send sends one frame; its first six bytes are the destination MAC.
func (s *Sender) Send(frame []byte) error {
	if len(frame) < etherLen {
		return fmt.Errorf("send frame: %d bytes, less than a header", len(frame))
	}
	sa := s.sa
	copy(sa.Addr[:], frame[0:6])
	if err := unix.Sendto(s.fd, frame, 0, &sa); err != nil {
		return fmt.Errorf("send frame: %w", err)
	}
	return nil
}

// Close closes the socket.
func (s *Sender) Close() error { return unix.Close(s.fd) }

// SendFrame sends one raw Ethernet frame out of ifname in namespace ns.
func SendFrame(ns, ifname string, frame []byte) error {
	s, err := OpenSender(ns, ifname)
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Send(frame)
}
