//go:build linux

// Command labapp is the demo's traffic: a server in sips-server and one
// long interactive connection from sips-client that writes every interval
// and reads the echo. It prints what both ends see, once a second and at
// once when either end ends, and exits when both have ended (0 if both
// saw "connection reset by peer") or after -duration (2).
//
// It is a lab helper, not part of softips: it only talks to the lab's
// namespaces and stops by itself.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/softips/softips/test/e2e"
)

func main() {
	local := flag.String("local", "198.51.100.7", "client address in "+e2e.NSClient)
	listen := flag.String("listen", "203.0.113.10:80", "server address in "+e2e.NSServer)
	interval := flag.Duration("interval", 100*time.Millisecond, "time between client writes")
	duration := flag.Duration("duration", 20*time.Second, "give up after this long")
	flag.Parse()

	code, err := run(*local, *listen, *interval, *duration)
	if err != nil {
		fmt.Fprintln(os.Stderr, "labapp:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(local, listen string, interval, duration time.Duration) (int, error) {
	srv, err := e2e.StartServer(e2e.NSServer, listen)
	if err != nil {
		return 1, err
	}
	defer srv.Close()
	say("server listening on %s in %s", listen, e2e.NSServer)

	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	client, err := e2e.Interactive(ctx, e2e.NSClient, local, listen, interval)
	if err != nil {
		return 1, err
	}
	c := client.Snapshot()
	server, err := srv.Peer(c.Local, time.Second)
	if err != nil {
		return 1, err
	}
	say("client %v -> %v connected in %s, writing every %v", c.Local, c.Remote,
		e2e.NSClient, interval)
	return watch(ctx, client, server), nil
}

// watch reports once a second and on each end; it returns 0 when both
// ends were reset, 2 otherwise.
func watch(ctx context.Context, client, server *e2e.Endpoint) int {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	cDone, sDone := client.Done(), server.Done()
	for cDone != nil || sDone != nil {
		select {
		case <-ctx.Done():
			say("gave up: %v", ctx.Err())
			return 2
		case <-tick.C:
			c, s := client.Snapshot(), server.Snapshot()
			say("client sent %d B recv %d B | server recv %d B sent %d B",
				c.Sent, c.Received, s.Received, s.Sent)
		case <-cDone:
			cDone = nil
			report(client.Snapshot())
		case <-sDone:
			sDone = nil
			report(server.Snapshot())
		}
	}
	if client.Snapshot().End == e2e.EndReset && server.Snapshot().End == e2e.EndReset {
		return 0
	}
	return 2
}

func report(o e2e.Outcome) {
	what := o.End.String()
	if o.Err != nil {
		what = o.Err.Error()
	}
	say("%s %v: ENDED: %s (after %v, sent %d B, recv %d B)", o.Label, o.Local, what,
		o.EndAt.Sub(o.Start).Round(time.Millisecond), o.Sent, o.Received)
}

func say(format string, args ...any) {
	stamp := time.Now().Format("15:04:05.000")
	fmt.Printf("%s labapp: %s\n", stamp, fmt.Sprintf(format, args...))
}
