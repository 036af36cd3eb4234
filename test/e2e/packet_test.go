//go:build linux

package e2e

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
)

func TestBuildRSTParsesBack(t *testing.T) {
	tests := []struct {
		name     string
		src, dst string
		seq, ack uint32
		flags    uint8
	}{
		{"v4 RST", "198.51.100.7:51000", "203.0.113.10:80", 1100, 0, FlagRST},
		{"v4 RST|ACK for a SYN", "203.0.113.10:80", "198.51.100.7:51000", 0, 7001,
			FlagRST | FlagACK},
		{"v6 RST", "[2001:db8:1::7]:51000", "[2001:db8:2::10]:443", 0xfffffff0, 0, FlagRST},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, dst := netip.MustParseAddrPort(tt.src), netip.MustParseAddrPort(tt.dst)
			frame := BuildRST(mustMAC(MACSensorMgmt), mustMAC(MACRouterMgmt), src, dst,
				tt.seq, tt.ack, tt.flags)
			seg, ok := ParseSegment(frame)
			if !ok {
				t.Fatalf("ParseSegment(% x) = not TCP", frame)
			}
			want := Segment{Src: src, Dst: dst, Seq: tt.seq, Ack: tt.ack, Flags: tt.flags,
				FrameLen: len(frame), ChecksumOK: true}
			if seg != want {
				t.Errorf("parsed %+v, want %+v", seg, want)
			}
			if got := net.HardwareAddr(frame[0:6]).String(); got != MACRouterMgmt {
				t.Errorf("destination MAC %s, want %s", got, MACRouterMgmt)
			}
		})
	}
}

// TestParseSegmentChecksums flips one byte in each part a checksum covers
// and expects the damage to be seen.
func TestParseSegmentChecksums(t *testing.T) {
	src := netip.MustParseAddrPort("198.51.100.7:51000")
	dst := netip.MustParseAddrPort("203.0.113.10:80")
	good := BuildRST(mustMAC(MACSensorMgmt), mustMAC(MACRouterMgmt), src, dst, 1, 0, FlagRST)
	tests := []struct {
		name   string
		offset int
	}{
		{"IPv4 TTL", etherLen + 8},
		{"IPv4 source address", etherLen + 12},
		{"TCP sequence", etherLen + ipv4Len + 4},
		{"TCP window", etherLen + ipv4Len + 14},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := append([]byte(nil), good...)
			bad[tt.offset] ^= 0x40
			seg, ok := ParseSegment(bad)
			if !ok || seg.ChecksumOK {
				t.Errorf("byte %d flipped: ok=%v ChecksumOK=%v, want true, false", tt.offset,
					ok, seg.ChecksumOK)
			}
		})
	}
}

func TestParseSegmentRejects(t *testing.T) {
	src := netip.MustParseAddrPort("198.51.100.7:51000")
	dst := netip.MustParseAddrPort("203.0.113.10:80")
	frame := BuildRST(mustMAC(MACSensorMgmt), mustMAC(MACRouterMgmt), src, dst, 1, 0, FlagRST)
	udp := append([]byte(nil), frame...)
	udp[etherLen+9] = 17
	arp := append([]byte(nil), frame...)
	arp[12], arp[13] = 0x08, 0x06
	tests := []struct {
		name  string
		frame []byte
	}{
		{"empty", nil},
		{"ethernet header only", frame[:etherLen]},
		{"truncated TCP header", frame[:len(frame)-1]},
		{"UDP", udp},
		{"ARP", arp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if seg, ok := ParseSegment(tt.frame); ok {
				t.Errorf("ParseSegment accepted %d bytes as %+v", len(tt.frame), seg)
			}
		})
	}
}

func FuzzParseSegment(f *testing.F) {
	src := netip.MustParseAddrPort("[2001:db8:1::7]:51000")
	dst := netip.MustParseAddrPort("[2001:db8:2::10]:80")
	f.Add(BuildRST(mustMAC(MACSensorMgmt), mustMAC(MACRouterMgmt), src, dst, 1, 0, FlagRST))
	f.Fuzz(func(t *testing.T, frame []byte) {
		seg, ok := ParseSegment(frame)
		if ok && seg.Payload < 0 {
			t.Errorf("negative payload %d", seg.Payload)
		}
	})
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want EndKind
	}{
		{nil, EndNone},
		{&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, EndReset},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), EndRefused},
		{io.EOF, EndEOF},
		{io.ErrUnexpectedEOF, EndOther},
		{&net.OpError{Op: "write", Err: os.NewSyscallError("write", syscall.EPIPE)}, EndPipe},
		{net.ErrClosed, EndStopped},
		{os.ErrDeadlineExceeded, EndTimeout},
		{errors.New("something else"), EndOther},
	}
	for _, tt := range tests {
		if got := Classify(tt.err); got != tt.want {
			t.Errorf("Classify(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
