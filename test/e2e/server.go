//go:build linux

package e2e

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
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
	lns   []net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	peers map[netip.AddrPort]*Endpoint
	conns map[net.Conn]struct{}
}

// StartServer listens on every addr ("ip:port") inside namespace ns.
func StartServer(ns string, addrs ...string) (*Server, error) {
	s := &Server{peers: map[netip.AddrPort]*Endpoint{}, conns: map[net.Conn]struct{}{}}
	for _, a := range addrs {
		ln, err := Listen(ns, "tcp", a)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("start server: %w", err)
		}
		s.lns = append(s.lns, ln)
		s.wg.Add(1)
		go s.accept(ln)
	}
	return s, nil
}

func (s *Server) accept(ln net.Listener) {
	defer s.wg.Done()
	for range maxAccepts {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		ep := newEndpoint("server", c)
		s.mu.Lock()
		s.peers[ep.o.Remote] = ep
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(c, ep)
	}
}

func (s *Server) serve(c net.Conn, ep *Endpoint) {
	defer s.wg.Done()
	defer s.forget(c)
	_ = c.SetDeadline(time.Now().Add(MaxConnLife))

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

func (s *Server) forget(c net.Conn) {
	_ = c.Close()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
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

// Peer returns the server side of the connection from client, waiting at
// most wait for the server to accept it.
func (s *Server) Peer(client netip.AddrPort, wait time.Duration) (*Endpoint, error) {
	deadline := time.Now().Add(wait)
	for {
		s.mu.Lock()
		ep := s.peers[client]
		s.mu.Unlock()
		if ep != nil {
			return ep, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("server peer %v: not accepted in %v", client, wait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Close stops the listeners, closes every open connection and waits for
// the server's goroutines.
func (s *Server) Close() {
	for _, ln := range s.lns {
		_ = ln.Close()
	}
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}
