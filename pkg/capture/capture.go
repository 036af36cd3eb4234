// Package capture reads packet capture files (pcap and pcapng) and yields
// raw link-layer frames together with their link type, so that the decoder
// downstream can handle captures taken on Ethernet, Linux "any" (cooked SLL
// and SLL2), loopback and raw-IP interfaces alike.
//
// It must never silently skip frames it cannot interpret: a link type it
// does not know is an error naming the number, and a truncated or corrupt
// file is an error naming the packet index and the reason.
package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// ErrLinkType reports a link type the decoder cannot read.
var ErrLinkType = errors.New("unsupported link type")

// ErrFormat reports a file that is neither pcap nor pcapng.
var ErrFormat = errors.New("not a pcap or pcapng file")

// ErrCorrupt reports a truncated or malformed packet record.
var ErrCorrupt = errors.New("corrupt capture")

// Link types outside gopacket's named constants that carry raw IP
// (DLT_RAW on some BSDs, as gopacket's own decoder table also maps them).
const (
	LinkTypeRawBSD12 layers.LinkType = 12
	LinkTypeRawBSD14 layers.LinkType = 14
)

// Supported reports whether frames of link type lt can be decoded.
func Supported(lt layers.LinkType) bool {
	switch lt {
	case layers.LinkTypeEthernet, layers.LinkTypeRaw, LinkTypeRawBSD12, LinkTypeRawBSD14,
		layers.LinkTypeIPv4, layers.LinkTypeIPv6, layers.LinkTypeLinuxSLL,
		layers.LinkTypeLinuxSLL2, layers.LinkTypeNull, layers.LinkTypeLoop:
		return true
	}
	return false
}

// Frame is one captured frame. Data is owned by the Reader and valid only
// until the next call to Next.
type Frame struct {
	Index    int // 1-based position in the file (Suricata's pcap_cnt)
	LinkType layers.LinkType
	Time     time.Time
	Data     []byte
	OrigLen  int // length on the wire; larger than len(Data) when truncated
}

type source interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// Reader yields the frames of one pcap or pcapng file in file order.
type Reader struct {
	name  string
	src   source
	ng    *pcapgo.NgReader
	link  layers.LinkType
	index int
	close io.Closer
}

// Open opens the capture file at path; the format is detected from its
// magic number.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open capture: %w", err)
	}
	r, err := NewReader(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.close = f
	return r, nil
}

// NewReader reads a pcap or pcapng stream from in; name appears in errors.
func NewReader(in io.Reader, name string) (*Reader, error) {
	br := bufio.NewReaderSize(in, 1<<16)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("read capture %q header: %w: %w", name, ErrFormat, err)
	}
	r := &Reader{name: name}
	switch m := binary.LittleEndian.Uint32(magic); m {
	case 0x0a0d0d0a:
		return r, r.openNg(br)
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		return r, r.openPcap(br)
	default:
		return nil, fmt.Errorf("read capture %q: %w (magic 0x%08x)", name, ErrFormat, m)
	}
}

func (r *Reader) openPcap(in io.Reader) error {
	pr, err := pcapgo.NewReader(in)
	if err != nil {
		return fmt.Errorf("read pcap %q header: %w: %w", r.name, ErrCorrupt, err)
	}
	r.link = pr.LinkType()
	if !Supported(r.link) {
		return fmt.Errorf("read pcap %q: %w %d", r.name, ErrLinkType, int(r.link))
	}
	r.src = pr
	return nil
}

func (r *Reader) openNg(in io.Reader) error {
	opts := pcapgo.NgReaderOptions{WantMixedLinkType: true}
	nr, err := pcapgo.NewNgReader(in, opts)
	if err != nil {
		return fmt.Errorf("read pcapng %q header: %w: %w", r.name, ErrCorrupt, err)
	}
	r.src, r.ng = nr, nr
	return nil
}

// Next returns the next frame, or io.EOF after the last one. Errors name
// the packet index and wrap ErrCorrupt or ErrLinkType.
func (r *Reader) Next() (Frame, error) {
	data, ci, err := r.src.ZeroCopyReadPacketData()
	idx := r.index + 1
	if err == io.EOF {
		return Frame{}, io.EOF
	}
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("file ends inside the record: %w", err)
		}
		return Frame{}, fmt.Errorf("read %q packet %d: %w: %w", r.name, idx, ErrCorrupt, err)
	}
	r.index = idx
	lt := r.link
	if r.ng != nil {
		lt = ci.AncillaryData[0].(layers.LinkType)
		if !Supported(lt) {
			return Frame{}, fmt.Errorf("read %q packet %d (interface %d): %w %d",
				r.name, idx, ci.InterfaceIndex, ErrLinkType, int(lt))
		}
	}
	f := Frame{Index: idx, LinkType: lt, Time: ci.Timestamp, Data: data, OrigLen: ci.Length}
	return f, nil
}

// Close closes the underlying file when the Reader opened it.
func (r *Reader) Close() error {
	if r.close == nil {
		return nil
	}
	return r.close.Close()
}

// ReadAll reads every frame of the capture file at path into memory, each
// with its own copy of Data, for callers that go over a capture many
// times. On an error it returns the frames read before it.
func ReadAll(path string) ([]Frame, error) {
	r, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var frames []Frame
	for {
		f, err := r.Next()
		if err == io.EOF {
			return frames, nil
		}
		if err != nil {
			return frames, err
		}
		f.Data = append([]byte(nil), f.Data...)
		frames = append(frames, f)
	}
}
