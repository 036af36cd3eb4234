// Command analyze turns the captures of one reset run into figures, and the
// figures of many runs into result rows.
//
//	analyze run -tool T -mode M -block-ns NS -client A -server A:P \
//	    -ccap C.pcap -scap S.pcap -mcap M.pcap -cend C.json -send S.json
//	analyze summarize -runs RUNS.jsonl -out ROWS.json [-skip TOOL=WHY]...
//
// "run" prints one JSON line; "summarize" reads those lines.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strings"
)

func main() {
	if err := dispatch(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "analyze:", err)
		os.Exit(1)
	}
}

func dispatch(args []string) error {
	if len(args) == 0 {
		return errors.New("want a subcommand: run or summarize")
	}
	switch args[0] {
	case "run":
		return cmdRun(args[1:])
	case "summarize":
		return cmdSummarize(args[1:])
	}
	return fmt.Errorf("subcommand %q: want run or summarize", args[0])
}

func cmdRun(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	tool := fs.String("tool", "", "tcpkill or softips")
	mode := fs.String("mode", "", "interactive or bulk")
	block := fs.Int64("block-ns", 0, "wall-clock time the block was issued, Unix ns")
	ready := fs.Int64("ready-ns", 0, "wall-clock time the block command returned, Unix ns")
	client := fs.String("client", "", "client address")
	server := fs.String("server", "", "server address:port")
	caps := map[string]*string{"ccap": nil, "scap": nil, "mcap": nil, "cend": nil, "send": nil}
	for k := range caps {
		caps[k] = fs.String(k, "", k+" file")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	in := runInput{Tool: *tool, Mode: *mode, BlockNs: *block, ReadyNs: *ready}
	if err := in.load(*client, *server, caps); err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(analyzeRun(in))
}

func (in *runInput) load(client, server string, files map[string]*string) error {
	var err error
	if in.Client, err = netip.ParseAddr(client); err != nil {
		return fmt.Errorf("-client %q: %w", client, err)
	}
	ap, err := netip.ParseAddrPort(server)
	if err != nil {
		return fmt.Errorf("-server %q: %w", server, err)
	}
	in.Server, in.Port = ap.Addr(), ap.Port()
	for _, c := range []struct {
		flag string
		dst  *[]segment
	}{{"ccap", &in.ClientSegs}, {"scap", &in.ServerSegs}, {"mcap", &in.SensorSegs}} {
		if *c.dst, err = readSegments(*files[c.flag]); err != nil {
			return err
		}
	}
	if err := readEnd(*files["cend"], &in.ClientEnd); err != nil {
		return err
	}
	return readEnd(*files["send"], &in.ServerEnd)
}

// readEnd reads an endpoint's report; an endpoint that printed nothing (it
// was killed) is recorded as ending "killed".
func readEnd(path string, r *endReport) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read endpoint report: %w", err)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		r.End = "killed"
		return nil
	}
	if err := json.Unmarshal(b, r); err != nil {
		return fmt.Errorf("endpoint report %q: %w", path, err)
	}
	return nil
}
