// Package replay runs a capture file through the pipeline and the
// detection engine, and reports alerts (as EVE-style JSON lines) and a
// summary of what was seen.
//
// It reads files only: it must never put a packet on a wire, and it never
// logs; the command that calls it reports.
package replay

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/softips/softips/pkg/av"
	"github.com/softips/softips/pkg/capture"
	"github.com/softips/softips/pkg/detect"
	"github.com/softips/softips/pkg/pipeline"
)

// Options configure a replay. Zero values take the pipeline defaults.
type Options struct {
	Pipeline pipeline.Config // Midstream, Workers, limits
	EVE      io.Writer       // alert records, one JSON object a line; nil for none
	// OnAlert, when set, sees each alert with the event that raised it, on
	// the worker's goroutine, before the next packet of that worker.
	OnAlert func(Alert, *pipeline.Event)
	// OnPacket, when set, sees every event that carries a packet, before
	// detection runs on it (the offline stand-in for the kernel's tagging).
	OnPacket func(*pipeline.Event)
	// Frames, when set, is told how many frames have been read so far.
	Frames func(n int)
	// AV, when set, scans each direction's reassembled stream and HTTP
	// bodies with these signatures; OnAVHit sees every hit (on the worker's
	// goroutine; ev is nil for a hit found when the flow ends).
	AV       *av.DB
	AVStream av.StreamOptions
	OnAVHit  func(AVHit, *pipeline.Event)
}

// AVHit is one antivirus hit with the flow it was found in.
type AVHit struct {
	av.Hit
	FlowID         uint64
	Client, Server netip.AddrPort
	ToClient       bool // found in the server's data
}

// Alert is one alert raised during a replay.
type Alert struct {
	detect.Alert
	PcapCnt int // packet number in the capture (for a flush at flow end, its last)
	FlowID  uint64
}

// Summary tells what a replay saw and did.
type Summary struct {
	Packets       uint64
	TCP           uint64
	Flows         uint64
	Alerts        int
	Dropped       uint64 // frames not inspected (not TCP, malformed), see Stats.Decode
	Elapsed       time.Duration
	PacketsPerSec float64
	Stats         pipeline.Stats
}

// Run replays the capture at path through engine and returns the alerts in
// capture order (within a flow; across workers by packet number).
func Run(ctx context.Context, path string, engine *detect.Engine, opt Options) ([]Alert,
	Summary, error) {
	r, err := capture.Open(path)
	if err != nil {
		return nil, Summary{}, fmt.Errorf("replay %q: %w", path, err)
	}
	defer r.Close()
	start := time.Now()
	shards := []*inspector{}
	var mu sync.Mutex
	p := pipeline.New(opt.Pipeline, func(int) pipeline.Inspector {
		mu.Lock()
		defer mu.Unlock()
		in := &inspector{engine: engine, onAlert: opt.OnAlert, onPacket: opt.OnPacket,
			keep: true, av: opt.AV,
			avOpt: opt.AVStream, onAV: opt.OnAVHit}
		shards = append(shards, in)
		return in
	})
	var src pipeline.FrameSource = r
	if opt.Frames != nil {
		src = &counting{FrameSource: r, report: opt.Frames}
	}
	if err := p.Run(ctx, src); err != nil {
		return nil, Summary{}, fmt.Errorf("replay %q: %w", path, err)
	}
	alerts := mergeAlerts(shards)
	sum := summarize(p.Stats(), len(alerts), time.Since(start))
	if opt.EVE != nil {
		if err := writeEVE(opt.EVE, alerts); err != nil {
			return alerts, sum, fmt.Errorf("replay %q: write eve: %w", path, err)
		}
	}
	return alerts, sum, nil
}

func mergeAlerts(shards []*inspector) []Alert {
	var all []Alert
	for _, s := range shards {
		all = append(all, s.alerts...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].PcapCnt < all[j].PcapCnt })
	return all
}

func summarize(st pipeline.Stats, alerts int, el time.Duration) Summary {
	s := Summary{Packets: st.Packets, TCP: st.TCP, Flows: st.Flows, Alerts: alerts,
		Dropped: st.Packets - st.TCP, Elapsed: el, Stats: st}
	if el > 0 {
		s.PacketsPerSec = float64(st.Packets) / el.Seconds()
	}
	return s
}

// inspector glues one pipeline worker to the engine.
type inspector struct {
	engine   *detect.Engine
	in       detect.Input
	ev       *pipeline.Event
	alerts   []Alert
	emit     func(detect.Alert)
	onAlert  func(Alert, *pipeline.Event)
	onPacket func(*pipeline.Event)
	keep     bool // collect alerts for the caller (replay); live does not
	av       *av.DB
	avOpt    av.StreamOptions
	onAV     func(AVHit, *pipeline.Event)
}

// flowState is what detection keeps per flow in pipeline.Flow.Ext.
type flowState struct {
	det *detect.FlowState
	av  [2]*av.Stream // by pipeline direction: ToServer, ToClient
}

// NewInspector returns the detection stage for one pipeline worker: it
// runs engine over each event and hands every alert to onAlert. The live
// daemon uses it; Run builds its own that also collects alerts.
func NewInspector(engine *detect.Engine, onAlert func(Alert, *pipeline.Event),
	opt Options) pipeline.Inspector {
	return &inspector{engine: engine, onAlert: onAlert, av: opt.AV, avOpt: opt.AVStream,
		onAV: opt.OnAVHit}
}

// Inspect runs the engine over one event; the flow's detection state
// lives in Flow.Ext.
func (s *inspector) Inspect(ev *pipeline.Event) {
	fs, _ := ev.Flow.Ext.(*flowState)
	if fs == nil {
		fs = s.newFlowState(ev.Flow)
		ev.Flow.Ext = fs
	}
	s.in = detect.Input{Flow: fs.det, Src: ev.Src, Dst: ev.Dst, ToServer: ev.ToServer,
		Established: ev.Established, Flags: ev.Flags(), Payload: ev.Payload(),
		Stream: ev.Stream, NewData: ev.NewData, StreamEnd: ev.StreamEnd, Time: ev.Time}
	s.ev = ev
	if s.onPacket != nil && ev.Packet != nil {
		s.onPacket(ev)
	}
	if s.emit == nil {
		s.emit = s.collect
	}
	if s.engine != nil {
		s.engine.Inspect(&s.in, s.emit)
	}
	if fs.av[0] != nil && ev.NewData > 0 {
		d := pipeline.ToClient
		if ev.ToServer {
			d = pipeline.ToServer
		}
		fs.av[d].Write(ev.Stream[len(ev.Stream)-ev.NewData:])
	}
}

func (s *inspector) newFlowState(f *pipeline.Flow) *flowState {
	fs := &flowState{det: detect.NewFlowState()}
	if s.av == nil {
		return fs
	}
	for d := range fs.av {
		o := s.avOpt
		o.OnHit = func(h av.Hit) { s.avHit(h, f, d == pipeline.ToClient) }
		fs.av[d] = s.av.NewStream(o)
	}
	av.LinkHTTP(fs.av[pipeline.ToServer], fs.av[pipeline.ToClient])
	return fs
}

func (s *inspector) avHit(h av.Hit, f *pipeline.Flow, toClient bool) {
	if s.onAV == nil {
		return
	}
	ev := s.ev
	if ev != nil && ev.Flow != f {
		ev = nil
	}
	s.onAV(AVHit{Hit: h, FlowID: f.ID, Client: f.Client, Server: f.Server,
		ToClient: toClient}, ev)
}

func (s *inspector) collect(a detect.Alert) {
	al := Alert{Alert: a, PcapCnt: s.ev.Index, FlowID: s.ev.Flow.ID}
	if s.keep {
		s.alerts = append(s.alerts, al)
	}
	if s.onAlert != nil {
		s.onAlert(al, s.ev)
	}
}

// FlowEnd finishes the flow's antivirus streams (hashes of whole objects
// are only known at the end).
func (s *inspector) FlowEnd(f *pipeline.Flow) {
	fs, _ := f.Ext.(*flowState)
	if fs == nil || fs.av[0] == nil {
		return
	}
	s.ev = nil
	for _, st := range fs.av {
		st.Close()
	}
}

// counting reports progress every 4096 frames and at the end.
type counting struct {
	pipeline.FrameSource
	n      int
	report func(int)
}

func (c *counting) Next() (capture.Frame, error) {
	f, err := c.FrameSource.Next()
	if err == nil {
		c.n++
		if c.n%4096 == 0 {
			c.report(c.n)
		}
	} else {
		c.report(c.n)
	}
	return f, err
}
