//go:build linux

package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Web server and client bounds.
const (
	maxRequestHead = 8 << 10 // bytes of one request or response head
	maxKeepAlive   = 100     // requests served on one connection
	webChunk       = 32 << 10
)

// WebServer serves fixed objects over HTTP/1.1 (GET /name, Content-Length,
// keep-alive) inside a namespace, and keeps an Endpoint per client address
// like Server does.
type WebServer struct {
	peerSet
	objs map[string][]byte
}

// StartWebServer listens on addr inside ns and serves objs by name.
func StartWebServer(ns, addr string, objs map[string][]byte) (*WebServer, error) {
	ln, err := Listen(ns, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("start web server: %w", err)
	}
	s := &WebServer{objs: objs}
	s.init("web-server", "web")
	s.serveOn(ln, s.serve)
	return s, nil
}

func (s *WebServer) serve(c net.Conn, ep *Endpoint) {
	r := bufio.NewReaderSize(c, maxRequestHead)
	for range maxKeepAlive {
		name, err := readRequest(r, ep)
		if err != nil {
			ep.finish(err)
			return
		}
		if err := s.respond(c, ep, name); err != nil {
			ep.finish(err)
			return
		}
	}
	ep.finish(nil)
}

// readRequest reads one request head and returns the object name.
func readRequest(r *bufio.Reader, ep *Endpoint) (string, error) {
	var first string
	for n := 0; ; n++ {
		line, err := r.ReadString('\n')
		ep.received(len(line))
		if err != nil {
			return "", err
		}
		if n == 0 {
			first = line
		}
		if line == "\r\n" {
			break
		}
		if n > 100 {
			return "", errors.New("request head: too many lines")
		}
	}
	f := strings.Fields(first)
	if len(f) != 3 || f[0] != "GET" || !strings.HasPrefix(f[1], "/") {
		return "", fmt.Errorf("request line %q: want GET /name HTTP/1.1", first)
	}
	return f[1][1:], nil
}

func (s *WebServer) respond(c net.Conn, ep *Endpoint, name string) error {
	body, ok := s.objs[name]
	status := "200 OK"
	if !ok {
		status, body = "404 Not Found", nil
	}
	head := fmt.Sprintf("HTTP/1.1 %s\r\nContent-Type: application/octet-stream\r\n"+
		"Content-Length: %d\r\n\r\n", status, len(body))
	n, err := io.WriteString(c, head)
	ep.sent(n)
	for off := 0; err == nil && off < len(body); off += n {
		n, err = c.Write(body[off:min(off+webChunk, len(body))])
		ep.sent(n)
	}
	return err
}

// Download is what a client saw of one GET.
type Download struct {
	Outcome        // the connection: bytes, how it ended
	Status   int   // HTTP status, 0 when no head arrived
	Length   int64 // Content-Length announced
	Body     int64 // body bytes read
	Complete bool  // the whole body arrived
}

// Get sends GET /name on the conversation and reads the answer until the
// body is complete, the connection fails or wait passes.
func (t *Talk) Get(name string, wait time.Duration) Download {
	req := "GET /" + name + " HTTP/1.1\r\nHost: lab\r\n\r\n"
	if err := t.Send([]byte(req)); err != nil {
		return Download{Outcome: t.ep.Snapshot()}
	}
	_ = t.c.SetReadDeadline(time.Now().Add(wait))
	r := bufio.NewReaderSize(countingReader{t.c, t.ep}, maxRequestHead)
	dl := Download{}
	err := readResponseHead(r, &dl)
	if err == nil {
		var n int64
		n, err = io.Copy(io.Discard, io.LimitReader(r, dl.Length))
		dl.Body, dl.Complete = n, n == dl.Length && err == nil
	}
	if err != nil {
		t.ep.finish(err)
	}
	dl.Outcome = t.ep.Snapshot()
	return dl
}

type countingReader struct {
	c  net.Conn
	ep *Endpoint
}

func (r countingReader) Read(b []byte) (int, error) {
	n, err := r.c.Read(b)
	r.ep.received(n)
	return n, err
}

func readResponseHead(r *bufio.Reader, dl *Download) error {
	dl.Length = -1
	for n := 0; n <= 100; n++ {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case n == 0:
			f := strings.Fields(line)
			if len(f) < 2 {
				return fmt.Errorf("status line %q", line)
			}
			dl.Status, _ = strconv.Atoi(f[1])
		case line == "":
			if dl.Length < 0 {
				return errors.New("response without Content-Length")
			}
			return nil
		default:
			k, v, _ := strings.Cut(line, ":")
			if strings.EqualFold(k, "Content-Length") {
				dl.Length, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			}
		}
	}
	return errors.New("response head: too many lines")
}

// Fetch dials remote from local in ns, GETs name and closes: one download
// on a new connection. A dial refused or reset shows in Outcome.End.
func Fetch(ctx context.Context, ns, local, remote, name string,
	wait time.Duration) Download {
	dctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	c, err := Dial(dctx, ns, local, remote)
	if err != nil {
		ep := newEndpoint("client-get", nil)
		ep.finish(err)
		return Download{Outcome: ep.Snapshot()}
	}
	t := NewTalk(c, "client-get")
	defer t.Close()
	return t.Get(name, wait)
}
