package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket/pcapgo"
)

// meanFrameBytes is the mean original length of the frames of a pcap file:
// the bytes a replayed packet stands for on the wire.
func meanFrameBytes(path string) (float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("mean frame size: %w", err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		return 0, fmt.Errorf("mean frame size of %q: %w", path, err)
	}
	var n, total int
	for {
		_, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("mean frame size of %q, frame %d: %w", path, n+1, err)
		}
		n++
		total += ci.Length
	}
	if n == 0 {
		return 0, fmt.Errorf("mean frame size of %q: no frames", path)
	}
	return float64(total) / float64(n), nil
}
