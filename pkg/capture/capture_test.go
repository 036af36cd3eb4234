package capture

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

var frame = bytes.Repeat([]byte{0xab}, 60) // content is irrelevant to the reader

func pcapBytes(t *testing.T, lt layers.LinkType, n int) []byte {
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	if err := w.WriteFileHeader(65535, lt); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(int64(i), 0), CaptureLength: 60,
			Length: 60}
		if err := w.WritePacket(ci, frame); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// ngBytes writes a pcapng file whose second interface has link type lt2;
// packet i goes to interface i%2.
func ngBytes(t *testing.T, lt2 layers.LinkType, n int) []byte {
	var b bytes.Buffer
	eth := pcapgo.NgInterface{LinkType: layers.LinkTypeEthernet, SnapLength: 65535}
	w, err := pcapgo.NewNgWriterInterface(&b, eth, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddInterface(pcapgo.NgInterface{LinkType: lt2, SnapLength: 65535}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(int64(i), 0), CaptureLength: 60,
			Length: 60, InterfaceIndex: i % 2}
		if err := w.WritePacket(ci, frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// readAll returns the link types of the frames read and the final error.
func readAll(t *testing.T, data []byte) ([]layers.LinkType, error) {
	r, err := NewReader(bytes.NewReader(data), "test")
	if err != nil {
		return nil, err
	}
	var lts []layers.LinkType
	for {
		f, err := r.Next()
		if err == io.EOF {
			return lts, nil
		}
		if err != nil {
			return lts, err
		}
		if f.Index != len(lts)+1 {
			t.Errorf("frame index %d, want %d", f.Index, len(lts)+1)
		}
		lts = append(lts, f.LinkType)
	}
}

func TestReader(t *testing.T) {
	eth, sll2 := layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL2
	full := pcapBytes(t, eth, 3)
	tests := []struct {
		name    string
		data    []byte
		want    []layers.LinkType
		err     error
		errText string
	}{
		{"pcap", full, []layers.LinkType{eth, eth, eth}, nil, ""},
		{"pcap SLL", pcapBytes(t, layers.LinkTypeLinuxSLL, 1),
			[]layers.LinkType{layers.LinkTypeLinuxSLL}, nil, ""},
		{"pcapng mixed link types", ngBytes(t, sll2, 3), []layers.LinkType{eth, sll2, eth}, nil, ""},
		{"pcap unknown link type", pcapBytes(t, 147, 1), nil, ErrLinkType, "link type 147"},
		{"pcapng unknown link type", ngBytes(t, 147, 2), []layers.LinkType{eth}, ErrLinkType,
			"packet 2 (interface 1): unsupported link type 147"},
		{"truncated record", full[:len(full)-10], []layers.LinkType{eth, eth}, ErrCorrupt,
			"packet 3"},
		{"truncated record header", full[:24+76+8], []layers.LinkType{eth}, ErrCorrupt,
			"packet 2"},
		{"not a capture", []byte("hello world, no magic"), nil, ErrFormat, "magic"},
		{"empty", nil, nil, ErrFormat, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(t, tt.data)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if err != nil && !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("error %q does not say %q", err, tt.errText)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("link types %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("frame %d link type %v, want %v", i+1, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestReadAll: every frame is kept with its own copy of the data, and a
// truncated file gives the frames before the fault and ErrCorrupt.
func TestReadAll(t *testing.T) {
	full := pcapBytes(t, layers.LinkTypeEthernet, 3)
	dir := t.TempDir()
	whole, cut := filepath.Join(dir, "whole.pcap"), filepath.Join(dir, "cut.pcap")
	if err := os.WriteFile(whole, full, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cut, full[:len(full)-10], 0o644); err != nil {
		t.Fatal(err)
	}
	frames, err := ReadAll(whole)
	if err != nil || len(frames) != 3 {
		t.Fatalf("whole file: %d frames, error %v; want 3, nil", len(frames), err)
	}
	frames[0].Data[0] = 0
	for i, f := range frames {
		if f.Index != i+1 || len(f.Data) != len(frame) || i > 0 && f.Data[0] != frame[0] {
			t.Errorf("frame %d: index %d, %d bytes, first %#x; want own copy of %d bytes",
				i+1, f.Index, len(f.Data), f.Data[0], len(frame))
		}
	}
	frames, err = ReadAll(cut)
	if !errors.Is(err, ErrCorrupt) || len(frames) != 2 {
		t.Errorf("truncated file: %d frames, error %v; want 2, %v", len(frames), err,
			ErrCorrupt)
	}
	if _, err := ReadAll(filepath.Join(dir, "absent.pcap")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent file: error %v, want %v", err, os.ErrNotExist)
	}
}
