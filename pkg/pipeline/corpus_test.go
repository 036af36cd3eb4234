package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/softips/softips/internal/testenv"
	"github.com/softips/softips/pkg/capture"
)

// recorder is an Inspector that keeps what tests look at.
type recorder struct {
	events  int
	streams [2][]byte // concatenated new stream bytes by direction, all flows
	ended   int
	est     int
	log     []string
}

func (r *recorder) Inspect(ev *Event) {
	r.events++
	if ev.Established {
		r.est++
	}
	d := ToClient
	if ev.ToServer {
		d = ToServer
	}
	r.streams[d] = append(r.streams[d], ev.Stream[len(ev.Stream)-ev.NewData:]...)
}

func (r *recorder) FlowEnd(*Flow) { r.ended++ }

// corpusCaptures lists every capture file of the shared corpus.
func corpusCaptures(t *testing.T) []string {
	root := testenv.Corpus(t)
	var files []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 40 {
		t.Fatalf("found %d captures in %q, want at least 40", len(files), root)
	}
	return files
}

func runFile(t testing.TB, path string, cfg Config) (Stats, *recorder) {
	t.Helper()
	rec := &recorder{}
	st := runCapture(t, path, cfg, func(int) Inspector { return rec })
	return st, rec
}

// runCapture runs the capture at path through a pipeline made with cfg
// and newInsp, and returns the pipeline's stats.
func runCapture(t testing.TB, path string, cfg Config, newInsp func(int) Inspector) Stats {
	t.Helper()
	r, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p := New(cfg, newInsp)
	if err := p.Run(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return p.Stats()
}

// explained lists the corpus captures that hold frames other than TCP, as
// MANIFEST.md documents them.
var explained = map[string]map[string]uint64{
	"zeek-http-dvwa-sqli.pcapng":             {"not-ip": 16},
	"esnet-nmap_80_w_service_detection.pcap": {"not-tcp": 6},
}

func TestDecodeCorpus(t *testing.T) {
	for _, path := range corpusCaptures(t) {
		name := filepath.Base(path)
		t.Run(filepath.Base(filepath.Dir(path))+"/"+name, func(t *testing.T) {
			st, rec := runFile(t, path, Config{})
			want := explained[name]
			var other uint64
			for reason, n := range st.Decode {
				if want[reason] != n {
					t.Errorf("decode %s = %d, want %d", reason, n, want[reason])
				}
				other += n
			}
			if st.Packets == 0 || st.TCP+other != st.Packets {
				t.Errorf("packets %d, tcp %d, other %d", st.Packets, st.TCP, other)
			}
			if rec.events != int(st.TCP) {
				t.Errorf("events %d, tcp packets %d", rec.events, st.TCP)
			}
			if uint64(rec.ended) != st.Flows || st.ActiveFlows != 0 || st.HeldBytes != 0 {
				t.Errorf("flows %d, ended %d, active %d, held %d",
					st.Flows, rec.ended, st.ActiveFlows, st.HeldBytes)
			}
		})
	}
}

// TestVLANCorpus checks the tagged corpus captures (F1): every frame is a
// TCP segment and carries the documented VLAN ID.
func TestVLANCorpus(t *testing.T) {
	root := testenv.Corpus(t)
	tests := []struct {
		file   string
		vid    uint16
		frames int
	}{
		{"pcaps/esnet-masscan-tcp_0_1000.pcap", 943, 1005},
		{"suricata-verify/detect-flowbits/input.pcap", 6, 1},
		{"suricata-verify/util-action-tests__util-action-03/input.pcap", 6, 3},
		{"suricata-verify/uricontent__detect-uricontent-03/input.pcap", 6, 1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r, err := capture.Open(filepath.Join(root, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			n := 0
			for f, err := r.Next(); err == nil; f, err = r.Next() {
				var p Packet
				if got := Decode(f.LinkType, f.Data, &p); got != ReasonOK {
					t.Fatalf("frame %d: %v", f.Index, got)
				}
				if p.NVLAN != 1 || p.VLANs[0] != tt.vid {
					t.Fatalf("frame %d: VLANs %v, want [%d]", f.Index, p.VLANs[:p.NVLAN], tt.vid)
				}
				n++
			}
			if n != tt.frames {
				t.Errorf("%d frames, want %d", n, tt.frames)
			}
		})
	}
}

// TestShardedMatchesInline runs captures with two workers and checks that
// every flow sees the same packets and stream bytes as with one worker.
func TestShardedMatchesInline(t *testing.T) {
	root := testenv.Corpus(t)
	names := []string{"zeek-ftp-bruteforce.pcap", "esnet-nmap_80_w_service_detection.pcap"}
	for _, name := range names {
		path := filepath.Join(root, "pcaps", name)
		one := perFlow(t, path, 1)
		two := perFlow(t, path, 2)
		if len(one) == 0 || len(one) != len(two) {
			t.Fatalf("%s: %d flows inline, %d sharded", name, len(one), len(two))
		}
		for k, v := range one {
			if two[k] != v {
				t.Errorf("%s flow %v: inline %+v, sharded %+v", name, k, v, two[k])
			}
		}
	}
}

type flowSum struct {
	events, est int
	toS, toC    string
}

// shardRec records per-flow sums; one per shard, so no locking.
type shardRec struct{ m map[Key]flowSum }

func (r *shardRec) Inspect(ev *Event) {
	s := r.m[ev.Flow.Key]
	s.events++
	if ev.Established {
		s.est++
	}
	nd := string(ev.Stream[len(ev.Stream)-ev.NewData:])
	if ev.ToServer {
		s.toS += nd
	} else {
		s.toC += nd
	}
	r.m[ev.Flow.Key] = s
}

func (r *shardRec) FlowEnd(*Flow) {}

func perFlow(t *testing.T, path string, workers int) map[Key]flowSum {
	recs := make([]*shardRec, workers)
	runCapture(t, path, Config{Workers: workers}, func(i int) Inspector {
		recs[i] = &shardRec{m: map[Key]flowSum{}}
		return recs[i]
	})
	all := map[Key]flowSum{}
	for _, rec := range recs {
		for k, v := range rec.m {
			all[k] = v
		}
	}
	return all
}
