package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// segment is the part of a captured TCP segment the analysis reads.
type segment struct {
	ns        int64 // capture time, Unix ns
	src, dst  netip.AddrPort
	seq, ack  uint32
	syn, fin  bool
	rst, ackF bool
	payload   int
}

// seqLen is the sequence space the segment takes: SYN and FIN count one.
func (s segment) seqLen() uint32 {
	n := uint32(s.payload)
	if s.syn {
		n++
	}
	if s.fin {
		n++
	}
	return n
}

func (s segment) pureACK() bool {
	return s.ackF && !s.syn && !s.fin && !s.rst && s.payload == 0
}

// readSegments reads the IPv4/IPv6 TCP segments of an Ethernet pcap file.
func readSegments(path string) ([]segment, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read capture: %w", err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("read capture %q: %w", path, err)
	}
	var out []segment
	for i := 1; ; i++ {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read capture %q frame %d: %w", path, i, err)
		}
		if s, ok := decode(data, ci); ok {
			out = append(out, s)
		}
	}
}

func decode(data []byte, ci gopacket.CaptureInfo) (segment, bool) {
	p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Lazy)
	tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if !ok {
		return segment{}, false
	}
	var src, dst netip.Addr
	payload := 0
	switch ip := p.NetworkLayer().(type) {
	case *layers.IPv4:
		src, _ = netip.AddrFromSlice(ip.SrcIP)
		dst, _ = netip.AddrFromSlice(ip.DstIP)
		payload = int(ip.Length) - int(ip.IHL)*4 - int(tcp.DataOffset)*4
	case *layers.IPv6:
		src, _ = netip.AddrFromSlice(ip.SrcIP)
		dst, _ = netip.AddrFromSlice(ip.DstIP)
		payload = int(ip.Length) - int(tcp.DataOffset)*4
	default:
		return segment{}, false
	}
	return segment{ns: ci.Timestamp.UnixNano(),
		src: netip.AddrPortFrom(src, uint16(tcp.SrcPort)),
		dst: netip.AddrPortFrom(dst, uint16(tcp.DstPort)),
		seq: tcp.Seq, ack: tcp.Ack, syn: tcp.SYN, fin: tcp.FIN, rst: tcp.RST, ackF: tcp.ACK,
		payload: max(payload, 0)}, true
}
