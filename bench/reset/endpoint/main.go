// Command endpoint is one side of the connection the reset benchmark cuts:
// a server that accepts one connection, or a client that drives it either
// interactively (a small write every 100 ms, echoed back) or in bulk
// (back-to-back 64 KiB writes). It ends when the connection does or when
// its time is up, and prints one JSON line: when and how the connection
// ended and the bytes each way. It only ever talks to the address given,
// which the benchmark sets to a host in its own lab namespace.
//
// Usage: endpoint server ADDR | endpoint client ADDR interactive|bulk [-max 10s]
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// report is the one line an endpoint prints when it stops.
type report struct {
	Role     string `json:"role"`
	EndNs    int64  `json:"end_ns"` // wall clock, Unix ns, when the connection ended
	End      string `json:"end"`    // "reset", "eof", "timeout" or an error text
	Sent     int64  `json:"sent"`
	Received int64  `json:"received"`
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "endpoint:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("endpoint", flag.ContinueOnError)
	maxT := fs.Duration("max", 10*time.Second, "give up after this long")
	if len(args) < 2 {
		return errors.New("usage: endpoint server ADDR | client ADDR interactive|bulk")
	}
	role, addr := args[0], args[1]
	mode := ""
	rest := args[2:]
	if role == "client" {
		if len(rest) < 1 || (rest[0] != "interactive" && rest[0] != "bulk") {
			return errors.New("client: want mode interactive or bulk")
		}
		mode, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	var conn net.Conn
	var err error
	switch role {
	case "server":
		conn, err = accept(addr, *maxT)
	case "client":
		conn, err = net.DialTimeout("tcp", addr, 3*time.Second)
	default:
		return fmt.Errorf("role %q: want server or client", role)
	}
	if err != nil {
		return err
	}
	r := drive(conn, role, mode, *maxT)
	return json.NewEncoder(os.Stdout).Encode(r)
}

func accept(addr string, maxT time.Duration) (net.Conn, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %q: %w", addr, err)
	}
	defer l.Close()
	_ = l.(*net.TCPListener).SetDeadline(time.Now().Add(maxT))
	fmt.Fprintln(os.Stderr, "endpoint: listening")
	c, err := l.Accept()
	if err != nil {
		return nil, fmt.Errorf("accept on %q: %w", addr, err)
	}
	return c, nil
}

// ending keeps the first way the connection failed, from the reader or a
// writer: the kernel reports a reset only once, to whichever call comes
// first, and the other then sees a plain end of file or a broken pipe.
type ending struct {
	mu   sync.Mutex
	ns   int64
	kind string
}

func (e *ending) set(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.kind == "" {
		e.ns, e.kind = time.Now().UnixNano(), endOf(err)
	}
}

// drive reads until the connection ends; the client also writes, and the
// server echoes what it reads (in bulk use only the first MiB).
func drive(conn net.Conn, role, mode string, maxT time.Duration) report {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(maxT))
	r := report{Role: role}
	var sent atomic.Int64
	var end ending
	done := make(chan struct{})
	if role == "client" {
		go write(conn, mode, &sent, &end, done)
	}
	buf := make([]byte, 256<<10)
	for {
		n, err := conn.Read(buf)
		r.Received += int64(n)
		if n > 0 && role == "server" && r.Received < 1<<20 {
			w, werr := conn.Write(buf[:n])
			sent.Add(int64(w))
			if werr != nil {
				end.set(werr)
			}
		}
		if err != nil {
			end.set(err)
			break
		}
	}
	close(done)
	r.Sent = sent.Load()
	end.mu.Lock()
	r.EndNs, r.End = end.ns, end.kind
	end.mu.Unlock()
	return r
}

// write feeds the connection until it fails or done is closed.
func write(conn net.Conn, mode string, sent *atomic.Int64, end *ending, done <-chan struct{}) {
	chunk, gap := make([]byte, 64<<10), time.Duration(0)
	if mode == "interactive" {
		chunk, gap = []byte("interactive 16B\n"), 100*time.Millisecond
	}
	for {
		select {
		case <-done:
			return
		default:
		}
		n, err := conn.Write(chunk)
		sent.Add(int64(n))
		if err != nil {
			end.set(err)
			return
		}
		if gap > 0 {
			time.Sleep(gap)
		}
	}
}

func endOf(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, io.EOF):
		return "eof"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	}
	return err.Error()
}
