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
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/softips/softips/pkg/av"
	"github.com/softips/softips/pkg/blocktable"
	"github.com/softips/softips/pkg/detect"
	"github.com/softips/softips/pkg/flowspec"
	"github.com/softips/softips/pkg/inject"
	"github.com/softips/softips/pkg/invariant"
	"github.com/softips/softips/pkg/multisession"
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
	AV        *av.DB // antivirus signatures; nil for none
	AVPolicy  string // fields an antivirus signal keeps (see av.BlockSpec)
	// MultiSession are the user block classifications across connections.
	MultiSession []multisession.Rule
}

// Result is what a replay produced, for tests and callers that print it
// their own way.
type Result struct {
	Alerts  []replay.Alert
	AVHits  []replay.AVHit
	Signals []flowspec.Spec
	Resets  [][]byte // RST frames, in the order the injector would send them
	Table   []blocktable.Entry
	Summary replay.Summary
}

// session collects responses from the pipeline's workers.
type session struct {
	mu     sync.Mutex
	table  *blocktable.Table
	inv    *invariant.Extractor
	multi  *multisession.Tracker
	eve    io.Writer
	policy string
	now    time.Time       // capture time of the event being answered
	resets *inject.Tracker // the daemon's reset logic, sending into res.Resets
	res    Result
	err    error
}

// Run replays path and returns what softips would have done.
func Run(ctx context.Context, path string, o Options) (Result, error) {
	s, err := newSession(o)
	if err != nil {
		return Result{}, err
	}
	var engine *detect.Engine
	if o.Rules != nil {
		engine = detect.NewEngine(o.Rules, detect.Options{})
	}
	cfg := pipeline.Config{Midstream: o.Midstream} // zero fields take the defaults
	alerts, sum, err := replay.Run(ctx, path, engine, replay.Options{Pipeline: cfg, EVE: o.EVE,
		OnAlert: s.onAlert, OnPacket: s.onPacket, Frames: o.Progress, AV: o.AV,
		OnAVHit: s.onAVHit})
	if err != nil && alerts == nil && sum.Packets == 0 {
		return Result{}, err
	}
	s.res.Alerts, s.res.Summary = alerts, sum
	_, s.res.Table = s.table.Snapshot()
	return s.res, errors.Join(err, s.err)
}

func newSession(o Options) (*session, error) {
	to := blocktable.DefaultOptions()
	t, err := blocktable.Open(to)
	if err != nil {
		return nil, err
	}
	inv, err := invariant.New(t, invariant.DefaultOptions())
	if err != nil {
		return nil, err
	}
	multi, err := multisession.New(o.MultiSession, 0)
	if err != nil {
		return nil, err
	}
	s := &session{table: t, inv: inv, multi: multi, eve: o.EVE, policy: o.AVPolicy}
	s.resets = inject.NewTracker(inject.TrackerConfig{Now: func() time.Time { return s.now }},
		s.collect, nil)
	return s, nil
}

// collect is the offline injector: frames are kept, not sent. The tracker
// reuses its buffers, so each frame is copied.
func (s *session) collect(frames ...[]byte) error {
	for _, f := range frames {
		s.res.Resets = append(s.res.Resets, append([]byte(nil), f...))
	}
	return nil
}

// onAlert is the daemon's response policy applied offline: a block action
// signals the flow as seen in the alerting direction and resets it from
// the alerting packet's own numbers; every alert also counts towards the
// multi-session classifications.
func (s *session) onAlert(a replay.Alert, ev *pipeline.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sig := range s.multi.Observe(multisession.Alert{Src: a.Src, Dst: a.Dst,
		Classtype: a.Rule.Classtype, Time: ev.Time}) {
		s.respond(sig.Spec, "multi-session:"+sig.Rule, ev.Time, nil)
	}
	if a.Rule.IsBlock() {
		s.respond(respond.SignalFor(a.Src, a.Dst), fmt.Sprintf("sid:%d", a.Rule.SID),
			ev.Time, ev.Packet)
	}
}

// onPacket does offline what the XDP classifier does live: a packet of a
// flow the table blocks (a widened entry included) triggers the injector.
func (s *session) onPacket(ev *pipeline.Event) {
	p := ev.Packet
	spec := respond.SignalFor(p.SrcAddrPort(), p.DstAddrPort())
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.table.Covering(spec)
	if !ok {
		return
	}
	s.now = ev.Time
	s.resets.Handle(respond.TriggerFor(p, e.ID))
}

// onAVHit logs the hit as EVE and blocks the flow by the antivirus policy.
func (s *session) onAVHit(h replay.AVHit, ev *pipeline.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.res.AVHits = append(s.res.AVHits, h)
	at := time.Time{}
	var pkt *pipeline.Packet
	if ev != nil {
		at, pkt = ev.Time, ev.Packet
	}
	if s.eve != nil {
		_ = av.WriteEVE(s.eve, h.Hit, av.FlowInfo{Time: at, FlowID: h.FlowID, Src: h.Server,
			Dst: h.Client})
	}
	spec, err := av.BlockSpec(s.policy, h.Client, h.Server)
	if err != nil {
		s.err = err
		return
	}
	s.respond(spec, "av:"+h.Signature, at, pkt)
}

// respond installs the signal and builds the RSTs the injector would send
// for pkt (none when the verdict came without a packet).
func (s *session) respond(spec flowspec.Spec, source string, at time.Time,
	pkt *pipeline.Packet) {
	s.res.Signals = append(s.res.Signals, spec)
	sig := blocktable.Signal{Spec: spec, Source: source, Time: at}
	e, _, _, err := s.table.AddUnlessCovered(blocktable.Request{Spec: spec,
		Origin: blocktable.Detector, Signals: []blocktable.Signal{sig}})
	s.inv.Ingest(sig)
	if err != nil || pkt == nil {
		return
	}
	s.now = at
	s.resets.Handle(respond.TriggerFor(pkt, e.ID))
}

// Replay runs path and writes the report, the EVE records and the RST pcap.
func Replay(ctx context.Context, path string, o Options) error {
	start := time.Now()
	res, runErr := Run(ctx, path, o)
	if runErr != nil && res.Summary.Packets == 0 {
		return runErr
	}
	if o.RSTOut != nil {
		if err := writePcap(o.RSTOut, res.Resets, start); err != nil {
			return fmt.Errorf("write rst pcap: %w", err)
		}
	}
	if err := report(o.Out, res, o.EVE != nil); err != nil {
		return err
	}
	return runErr // reported after the partial results, and the exit is non-zero
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
