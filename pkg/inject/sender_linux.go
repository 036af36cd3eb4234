package inject

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Errors of the transmit ring, for callers to test with errors.Is.
var (
	ErrRingFull    = errors.New("tx ring full")
	ErrWrongFormat = errors.New("kernel rejected frame format")
	ErrBadFrame    = errors.New("frame is not Ethernet carrying IPv4 or IPv6")
	ErrClosed      = errors.New("sender closed")

	errNotTaken = errors.New("kernel left them queued")
)

// Ring geometry: one page per block, fixed slots big enough for any RST.
const (
	slotSize = 256
	// slotData is where a frame starts in its slot when the socket has no
	// PACKET_TX_HAS_OFF: right after the aligned tpacket3_hdr.
	slotData = (int(unsafe.Sizeof(unix.Tpacket3Hdr{})) + unix.TPACKET_ALIGNMENT - 1) &^
		(unix.TPACKET_ALIGNMENT - 1)
	maxSlotFrame = slotSize - slotData
)

// SenderOptions tune a Sender; zero fields take the defaults.
type SenderOptions struct {
	Frames         int           // ring slots, rounded up to whole pages; default 64
	ResolveTimeout time.Duration // wait for a next hop's MAC; default 1s
	CacheTTL       time.Duration // route and neighbour cache; default 10s
	NegativeTTL    time.Duration // a failed resolution is remembered; default 1s
	SendTimeout    time.Duration // bound on one transmission; default 1s
}

func (o SenderOptions) withDefaults() SenderOptions {
	if o.Frames <= 0 {
		o.Frames = 64
	}
	o.ResolveTimeout = orDuration(o.ResolveTimeout, time.Second)
	o.CacheTTL = orDuration(o.CacheTTL, 10*time.Second)
	o.NegativeTTL = orDuration(o.NegativeTTL, time.Second)
	o.SendTimeout = orDuration(o.SendTimeout, time.Second)
	return o
}

func orDuration(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// SenderStats counts what a Sender did with the frames it was given.
type SenderStats struct {
	Sent        uint64 // frames the kernel took for transmission
	Failed      uint64 // frames not sent, for any reason below or another
	WrongFormat uint64 // frames the kernel marked TP_STATUS_WRONG_FORMAT
	RingFull    uint64 // frames refused for want of a free slot
	Unresolved  uint64 // frames without a route or next-hop MAC
}

// Sender transmits frames out of one interface through an AF_PACKET socket
// with a TPACKET_V3 transmit ring, addressing each to the next hop the
// route and neighbour tables name for its IP destination. It works in the
// network namespace of the thread that created it. Send is safe for
// concurrent use; transmissions serialize.
type Sender struct {
	mu     sync.Mutex
	fd     int
	ring   []byte
	slots  int
	head   int // next slot to fill; equals the kernel's head when idle
	mac    [6]byte
	mtu    int
	nl     *netlink.Handle
	res    *resolver
	opts   SenderOptions
	closed bool

	// prepare writes frame f into slot data d and returns its length; a
	// test replaces it to hand the kernel frames Send would refuse.
	prepare func(d, f []byte) (int, error)

	sent, failed, wrongFormat, ringFull, unresolved atomic.Uint64
}

// NewSender opens the transmit ring on interface ifname.
func NewSender(ifname string, opts SenderOptions) (*Sender, error) {
	opts = opts.withDefaults()
	nl, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("sender on %q: netlink: %w", ifname, err)
	}
	link, err := nl.LinkByName(ifname)
	if err != nil {
		nl.Close()
		return nil, fmt.Errorf("sender on %q: %w", ifname, err)
	}
	a := link.Attrs()
	if len(a.HardwareAddr) != 6 {
		nl.Close()
		return nil, fmt.Errorf("sender on %q: not an Ethernet interface", ifname)
	}
	s := &Sender{fd: -1, mac: [6]byte(a.HardwareAddr), mtu: a.MTU, nl: nl, opts: opts,
		res: newResolver(nl, a.Index, ifname, opts), prepare: copyFrame}
	if err := s.open(a.Index); err != nil {
		s.Close()
		return nil, fmt.Errorf("sender on %q: %w", ifname, err)
	}
	return s, nil
}

// open creates the socket and its ring, then binds it to the interface
// with protocol 0, so that it never receives.
func (s *Sender) open(ifindex int) error {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("packet socket: %w", err)
	}
	s.fd = fd
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION,
		unix.TPACKET_V3); err != nil {
		return fmt.Errorf("set TPACKET_V3: %w", err)
	}
	page := unix.Getpagesize()
	perBlock := page / slotSize
	blocks := (s.opts.Frames + perBlock - 1) / perBlock
	req := unix.TpacketReq3{Block_size: uint32(page), Block_nr: uint32(blocks),
		Frame_size: slotSize, Frame_nr: uint32(blocks * perBlock)}
	if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_TX_RING,
		&req); err != nil {
		return fmt.Errorf("set tx ring of %d slots: %w", req.Frame_nr, err)
	}
	s.slots = int(req.Frame_nr)
	s.ring, err = unix.Mmap(fd, 0, blocks*page, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("map tx ring: %w", err)
	}
	tv := unix.NsecToTimeval(s.opts.SendTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
		return fmt.Errorf("set send timeout: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifindex}); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	return nil
}

// Close releases the ring, the socket and the netlink handle.
func (s *Sender) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	if s.ring != nil {
		err = unix.Munmap(s.ring)
	}
	if s.fd >= 0 {
		err = errors.Join(err, unix.Close(s.fd))
	}
	s.nl.Close()
	return err
}

// MAC returns the interface's Ethernet address, the source of every frame.
func (s *Sender) MAC() [6]byte { return s.mac }

// Stats returns a snapshot of the counters.
func (s *Sender) Stats() SenderStats {
	return SenderStats{Sent: s.sent.Load(), Failed: s.failed.Load(),
		WrongFormat: s.wrongFormat.Load(), RingFull: s.ringFull.Load(),
		Unresolved: s.unresolved.Load()}
}

// Send transmits frames at once, in order. Each must be an Ethernet frame
// carrying IPv4 or IPv6; its Ethernet addresses are replaced (in the ring,
// not in the caller's buffer) by the interface's and the next hop's. A
// frame that cannot be sent is counted and skipped; the error joins the
// reasons.
func (s *Sender) Send(frames ...[]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		s.failed.Add(uint64(len(frames)))
		return ErrClosed
	}
	var errs []error
	for len(frames) > 0 {
		n, err := s.round(frames)
		if err != nil {
			errs = append(errs, err)
		}
		frames = frames[n:]
	}
	return errors.Join(errs...)
}

// round queues as many frames as the ring has room for, transmits them and
// reaps their slots; it returns how many frames it dealt with.
func (s *Sender) round(frames [][]byte) (int, error) {
	start, queued, consumed := s.head, 0, 0
	var errs []error
	var origin [64]int // frames index of each queued slot
	for consumed < len(frames) && queued < min(s.slots, len(origin)) {
		i := (start + queued) % s.slots
		if s.status(i) != unix.TP_STATUS_AVAILABLE {
			break
		}
		if err := s.fill(i, frames[consumed]); err != nil {
			s.failed.Add(1)
			errs = append(errs, err)
			consumed++
			continue
		}
		s.setStatus(i, unix.TP_STATUS_SEND_REQUEST)
		origin[queued] = consumed
		queued++
		consumed++
	}
	if queued == 0 && consumed == 0 {
		n := uint64(len(frames))
		s.ringFull.Add(n)
		s.failed.Add(n)
		return len(frames), fmt.Errorf("%d frames: %w", n, ErrRingFull)
	}
	if queued > 0 {
		q, err := s.reap(start, queued, s.kick())
		if err != nil {
			errs = append(errs, err)
		}
		if q >= 0 { // the frames after one the kernel refused go again
			return origin[q] + 1, errors.Join(errs...)
		}
	}
	return consumed, errors.Join(errs...)
}

// fill writes frame f into slot i, addressed to the next hop.
func (s *Sender) fill(i int, f []byte) error {
	dst, err := s.destination(f)
	if err != nil {
		return err
	}
	mac, err := s.res.resolve(dst)
	if err != nil {
		s.unresolved.Add(1)
		return err
	}
	d := s.data(i)
	n, err := s.prepare(d, f)
	if err != nil {
		return err
	}
	copy(d[0:6], mac[:])
	copy(d[6:12], s.mac[:])
	h := s.hdr(i)
	*h = unix.Tpacket3Hdr{Len: uint32(n), Snaplen: uint32(n), Status: h.Status}
	return nil
}

// copyFrame is the normal prepare: the frame as given.
func copyFrame(d, f []byte) (int, error) { return copy(d, f), nil }

// destination checks that f is a frame Send can route and returns its IP
// destination.
func (s *Sender) destination(f []byte) (netip.Addr, error) {
	if len(f) > maxSlotFrame || len(f) > s.mtu+ethLen {
		return netip.Addr{}, fmt.Errorf("frame of %d bytes: %w: longer than %d",
			len(f), ErrBadFrame, min(maxSlotFrame, s.mtu+ethLen))
	}
	if len(f) >= ethLen+ipv4Len && f[12] == 0x08 && f[13] == 0x00 && f[14]>>4 == 4 {
		return netip.AddrFrom4([4]byte(f[30:34])), nil
	}
	if len(f) >= ethLen+ipv6Len && f[12] == 0x86 && f[13] == 0xdd && f[14]>>4 == 6 {
		return netip.AddrFrom16([16]byte(f[38:54])), nil
	}
	return netip.Addr{}, fmt.Errorf("frame of %d bytes: %w", len(f), ErrBadFrame)
}

// kick has the kernel transmit every slot marked SEND_REQUEST and, as the
// socket blocks, wait (SendTimeout at most) until they are on their way.
func (s *Sender) kick() error {
	var err error
	for range 4 { // retry when a signal interrupts the wait
		if err = unix.Sendto(s.fd, nil, 0, nil); err != unix.EINTR {
			break
		}
	}
	return err
}

// reap reads the fate of the queued slots after a kick. On the first slot
// the kernel did not take, it frees that slot and the rest and moves the
// cursor back to it, where the kernel's own head stopped. It returns the
// queue position of a frame the kernel refused as malformed (the frames
// after it deserve another try), else -1.
func (s *Sender) reap(start, queued int, kickErr error) (int, error) {
	for q := range queued {
		i := (start + q) % s.slots
		st := s.status(i)
		if st == unix.TP_STATUS_AVAILABLE || st&unix.TP_STATUS_SENDING != 0 {
			s.sent.Add(1)
			continue
		}
		s.release(start, q, queued)
		s.head = i
		if st&unix.TP_STATUS_WRONG_FORMAT != 0 {
			s.wrongFormat.Add(1)
			s.failed.Add(1)
			return q, fmt.Errorf("slot %d: %w: %w", i, ErrWrongFormat, kickErr)
		}
		s.failed.Add(uint64(queued - q))
		if kickErr == nil {
			kickErr = errNotTaken
		}
		return -1, fmt.Errorf("transmit %d frames: %w", queued-q, kickErr)
	}
	s.head = (start + queued) % s.slots
	return -1, nil
}

// release marks queued slots from q on as free again.
func (s *Sender) release(start, q, queued int) {
	for ; q < queued; q++ {
		s.setStatus((start+q)%s.slots, unix.TP_STATUS_AVAILABLE)
	}
}

func (s *Sender) hdr(i int) *unix.Tpacket3Hdr {
	return (*unix.Tpacket3Hdr)(unsafe.Pointer(&s.ring[i*slotSize]))
}

func (s *Sender) data(i int) []byte {
	return s.ring[i*slotSize+slotData : (i+1)*slotSize]
}

// status and setStatus are the hand-over between us and the kernel: the
// store of SEND_REQUEST publishes the slot's contents.
func (s *Sender) status(i int) uint32 { return atomic.LoadUint32(&s.hdr(i).Status) }

func (s *Sender) setStatus(i int, v uint32) { atomic.StoreUint32(&s.hdr(i).Status, v) }

// Resolve returns the MAC of the next hop toward dst, asking the kernel to
// resolve it when needed. The daemon may call it at start with an address
// behind the gateway, so that the first RST does not wait for ARP.
func (s *Sender) Resolve(dst netip.Addr) ([6]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return [6]byte{}, ErrClosed
	}
	return s.res.resolve(dst.Unmap())
}
