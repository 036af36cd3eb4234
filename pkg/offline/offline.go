// Package offline answers "what would softips have done to this traffic?"
// for a capture file: it runs the live pipeline (decode, reassembly,
// rules) through pkg/replay, turns block alerts into signals exactly as
// the daemon does, feeds them to an in-memory block table with invariant
// extraction, and builds the RST frames the injector would send.
//
// It never sends a packet or touches the kernel.
package offline

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/softips/softips/pkg/blocktable"
	"github.com/softips/softips/pkg/detect"
	"github.com/softips/softips/pkg/flowspec"
	"github.com/softips/softips/pkg/inject"
	"github.com/softips/softips/pkg/invariant"
	"github.com/softips/softips/pkg/pipeline"
	"github.com/softips/softips/pkg/replay"
	"github.com/softips/softips/pkg/respond"
)

// Options select the rules and the outputs of a Replay.
type Options struct {
	Rules     *detect.RuleSet
	Midstream bool
	Out       io.Writer // the human-readable report
	EVE       io.Writer // EVE JSON alerts; nil for none
	RSTOut    io.Writer // pcap of the RST frames; nil for none
	Progress  func(frames int)
}

// Result is what a replay produced, for tests and callers that print it
// their own way.
type Result struct {
	Alerts  []replay.Alert
	Signals []flowspec.Spec
	Resets  [][]byte // RST frames, in the order the injector would send them
	Table   []blocktable.Entry
	Summary replay.Summary
}

// session collects responses from the pipeline's workers.
type session struct {
	mu    sync.Mutex
	table *blocktable.Table
	inv   *invariant.Extractor
	res   Result
	err   error
}

// Run replays path and returns what softips would have done.
func Run(ctx context.Context, path string, o Options) (Result, error) {
	s, err := newSession()
	if err != nil {
		return Result{}, err
	}
	engine := detect.NewEngine(o.Rules, detect.Options{})
	cfg := pipeline.Config{Midstream: o.Midstream} // zero fields take the defaults
	alerts, sum, err := replay.Run(ctx, path, engine, replay.Options{Pipeline: cfg, EVE: o.EVE,
		OnAlert: s.onAlert, Frames: o.Progress})
	if err != nil {
		return Result{}, err
	}
	s.res.Alerts, s.res.Summary = alerts, sum
	_, s.res.Table = s.table.Snapshot()
	return s.res, s.err
}

func newSession() (*session, error) {
	to := blocktable.DefaultOptions()
	t, err := blocktable.Open(to)
	if err != nil {
		return nil, err
	}
	inv, err := invariant.New(t, invariant.DefaultOptions())
	if err != nil {
		return nil, err
	}
	return &session{table: t, inv: inv}, nil
}

// onAlert is the daemon's response policy applied offline: a block action
// signals the flow as seen in the alerting direction and resets it from
// the alerting packet's own numbers.
func (s *session) onAlert(a replay.Alert, ev *pipeline.Event) {
	if !a.Rule.IsBlock() {
		return
	}
	spec := respond.SignalFor(a.Src, a.Dst)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.res.Signals = append(s.res.Signals, spec)
	sig := blocktable.Signal{Spec: spec, Source: fmt.Sprintf("sid:%d", a.Rule.SID),
		Time: ev.Time}
	e, _, err := s.table.Add(blocktable.Request{Spec: spec, Origin: blocktable.Detector,
		Signals: []blocktable.Signal{sig}})
	s.inv.Ingest(sig)
	if err != nil || ev.Packet == nil {
		return
	}
	frames, err := inject.BuildResets(respond.TriggerFor(ev.Packet, e.ID),
		inject.BuildOptions{}, nil)
	if err != nil {
		s.err = fmt.Errorf("build resets for %s: %w", spec, err)
		return
	}
	s.res.Resets = append(s.res.Resets, frames...)
}

// Replay runs path and writes the report, the EVE records and the RST pcap.
func Replay(ctx context.Context, path string, o Options) error {
	start := time.Now()
	res, err := Run(ctx, path, o)
	if err != nil {
		return err
	}
	if o.RSTOut != nil {
		if err := writePcap(o.RSTOut, res.Resets, start); err != nil {
			return fmt.Errorf("write rst pcap: %w", err)
		}
	}
	return report(o.Out, res, o.EVE != nil)
}

func writePcap(w io.Writer, frames [][]byte, t time.Time) error {
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return err
	}
	for _, f := range frames {
		ci := gopacket.CaptureInfo{Timestamp: t, CaptureLength: len(f), Length: len(f)}
		if err := pw.WritePacket(ci, f); err != nil {
			return err
		}
	}
	return nil
}
