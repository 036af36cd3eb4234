//go:build linux

package e2e

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// peerSet is the part Server and WebServer share: it accepts on their
// listeners, keeps an Endpoint per client address and the open
// connections, and closes them all on Close.
type peerSet struct {
	label string // of the server-side endpoints
	kind  string // names the server in errors
	lns   []net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	peers map[netip.AddrPort]*Endpoint
	conns map[net.Conn]struct{}
}

func (p *peerSet) init(label, kind string) {
	p.label, p.kind = label, kind
	p.peers = map[netip.AddrPort]*Endpoint{}
	p.conns = map[net.Conn]struct{}{}
}

// serveOn accepts on ln (at most maxAccepts connections) and runs serve
// for each in its own goroutine, with the MaxConnLife deadline set; the
// connection is closed and forgotten when serve returns.
func (p *peerSet) serveOn(ln net.Listener, serve func(net.Conn, *Endpoint)) {
	p.lns = append(p.lns, ln)
	p.wg.Add(1)
	go p.accept(ln, serve)
}

func (p *peerSet) accept(ln net.Listener, serve func(net.Conn, *Endpoint)) {
	defer p.wg.Done()
	for range maxAccepts {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		ep := newEndpoint(p.label, c)
		p.mu.Lock()
		p.peers[ep.o.Remote] = ep
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.forget(c)
			_ = c.SetDeadline(time.Now().Add(MaxConnLife))
			serve(c, ep)
		}()
	}
}

func (p *peerSet) forget(c net.Conn) {
	_ = c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// Peer returns the server side of the connection from client, waiting at
// most wait for the server to accept it.
func (p *peerSet) Peer(client netip.AddrPort, wait time.Duration) (*Endpoint, error) {
	for deadline := time.Now().Add(wait); ; time.Sleep(5 * time.Millisecond) {
		p.mu.Lock()
		ep := p.peers[client]
		p.mu.Unlock()
		if ep != nil {
			return ep, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s peer %v: not accepted in %v", p.kind, client, wait)
		}
	}
}

// Close stops the listeners, closes every open connection and waits for
// the server's goroutines.
func (p *peerSet) Close() {
	for _, ln := range p.lns {
		_ = ln.Close()
	}
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
