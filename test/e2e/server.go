//go:build linux

package e2e

import (
	"fmt"
	"io"
	"net"
	"time"
)

// Modes a client picks with the first byte it sends to a Server.
const (
	ModeEcho byte = 'E' // the server echoes every byte back
	ModeBulk byte = 'B' // the server streams to the client, paced
	ModeSink byte = 'S' // the server reads and discards
)

// Bounds on every connection the lab applications run.
const (
	MaxConnLife  = 60 * time.Second // deadline set on every connection
	BulkChunk    = 16 << 10         // bytes per bulk write
	BulkPace     = 2 * time.Millisecond
	MaxBulkBytes = 1 << 30
	maxAccepts   = 10000
	maxReads     = 1 << 20
)

// Server accepts connections inside a namespace and serves the three modes,
// keeping an Endpoint per client address so tests can ask what the server
// side of a given connection saw.
type Server struct {
	peerSet
}

// StartServer listens on every addr ("ip:port") inside namespace ns.
func StartServer(ns string, addrs ...string) (*Server, error) {
	s := &Server{}
	s.init("server", "server")
	for _, a := range addrs {
		ln, err := Listen(ns, "tcp", a)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("start server: %w", err)
		}
		s.serveOn(ln, serveMode)
	}
	return s, nil
}

// serveMode reads the mode byte and serves the connection in that mode.
func serveMode(c net.Conn, ep *Endpoint) {
	mode := make([]byte, 1)
	if _, err := io.ReadFull(c, mode); err != nil {
		ep.finish(err)
		return
	}
	ep.received(1)
	switch mode[0] {
	case ModeEcho:
		ep.finish(echo(c, ep))
	case ModeBulk:
		ep.finish(stream(c, ep))
	default:
		ep.finish(sink(c, ep))
	}
}

func echo(c net.Conn, ep *Endpoint) error {
	buf := make([]byte, 4096)
	for range maxReads {
		n, err := c.Read(buf)
		ep.received(n)
		if err != nil {
			return err
		}
		w, err := c.Write(buf[:n])
		ep.sent(w)
		if err != nil {
			return err
		}
	}
	return nil
}

func stream(c net.Conn, ep *Endpoint) error {
	chunk := make([]byte, BulkChunk)
	for i := range chunk {
		chunk[i] = byte(i)
	}
	for range MaxBulkBytes / BulkChunk {
		w, err := c.Write(chunk)
		ep.sent(w)
		if err != nil {
			return err
		}
		time.Sleep(BulkPace)
	}
	return nil
}

func sink(c net.Conn, ep *Endpoint) error {
	buf := make([]byte, 64<<10)
	for range maxReads {
		n, err := c.Read(buf)
		ep.received(n)
		if err != nil {
			return err
		}
	}
	return nil
}
