package daemon

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/softips/softips/pkg/av"
	"github.com/softips/softips/pkg/blocktable"
	"github.com/softips/softips/pkg/config"
	"github.com/softips/softips/pkg/detect"
	"github.com/softips/softips/pkg/flowspec"
	"github.com/softips/softips/pkg/inject"
	"github.com/softips/softips/pkg/invariant"
	"github.com/softips/softips/pkg/kernel"
	"github.com/softips/softips/pkg/multisession"
	"github.com/softips/softips/pkg/pipeline"
	"github.com/softips/softips/pkg/replay"
	"github.com/softips/softips/pkg/respond"
)

// detection is the live half of DESIGN §8: kernel mirror rings feed the
// pipeline's flow-sharded workers, whose alerts become EVE records, block
// signals and immediate resets.
type detection struct {
	engine  *detect.Engine // nil without rules
	av      *av.DB         // nil without antivirus signatures
	avPol   string
	multiMu sync.Mutex
	multi   *multisession.Tracker
	promote map[string]bool
	eveMu   sync.Mutex
	eve     *bufio.Writer
	eveFile io.Closer
	alerts  uint64 // EVE events (alerts and antivirus hits), guarded by eveMu
}

// openDetection loads rules and antivirus signatures; with neither,
// detection stays off and the kernel feeds no mirror rings.
func (d *Daemon) openDetection() error {
	det := &detection{promote: map[string]bool{}, avPol: d.cfg.AV.Policy}
	if err := d.loadRules(det); err != nil {
		return err
	}
	if err := d.loadAV(det); err != nil {
		return err
	}
	if det.engine == nil && det.av == nil {
		if d.o.EVE != "" {
			d.log.Warn().Str("eve", d.o.EVE).Msg("--eve given without --rules or --av: " +
				"detection is off and nothing will be written")
		}
		return nil
	}
	multi, err := multisession.New(multiRules(d.cfg.Detect.MultiSession), 0)
	if err != nil {
		return err
	}
	det.multi = multi
	for _, a := range d.cfg.Detect.Promote {
		det.promote[a] = true
	}
	if err := det.openEVE(d.o.EVE); err != nil {
		return err
	}
	d.det = det
	return nil
}

func (d *Daemon) loadRules(det *detection) error {
	files := append(append([]string{}, d.cfg.Detect.Rules...), d.o.Rules...)
	if len(files) == 0 {
		return nil
	}
	vars := detect.DefaultVars()
	for k, v := range d.cfg.Detect.Vars {
		vars[k] = v
	}
	rs, skipped, err := detect.LoadFiles(vars, files...)
	if err != nil {
		return err
	}
	for _, s := range skipped {
		d.log.Warn().Str("rule", s.Error()).Msg("rule skipped")
	}
	d.log.Info().Int("rules", len(rs.Rules)).Int("skipped", len(skipped)).Msg("rules loaded")
	det.engine = detect.NewEngine(rs, detect.Options{})
	return nil
}

func (d *Daemon) loadAV(det *detection) error {
	files := append(append([]string{}, d.cfg.AV.Signatures...), d.o.AV...)
	if len(files) == 0 {
		return nil
	}
	db, skipped, err := av.LoadFiles(files...)
	if err != nil {
		return fmt.Errorf("load antivirus signatures: %w", err)
	}
	for _, s := range skipped {
		d.log.Warn().Str("rule", s.Error()).Msg("antivirus signature skipped")
	}
	hash, body := db.Len()
	if hash+body == 0 {
		return fmt.Errorf("antivirus: no usable signatures in %q (.hdb, .hsb, .ndb, .db; "+
			"unpack .cvd/.cld with sigtool --unpack)", files)
	}
	d.log.Info().Int("hash", hash).Int("body", body).Int("skipped", len(skipped)).
		Msg("antivirus signatures loaded")
	det.av = db
	return nil
}

func multiRules(ms []config.MultiSession) []multisession.Rule {
	out := make([]multisession.Rule, len(ms))
	for i, m := range ms {
		keep, _ := invariant.ParseShape(m.Keep) // validated with the config
		if m.Keep == "" {
			keep = invariant.Src
		}
		out[i] = multisession.Rule{Name: m.Name, By: m.By, Classtype: m.Classtype,
			Count: m.Count, Window: time.Duration(m.Window), Keep: keep}
	}
	return out
}

func (det *detection) openEVE(path string) error {
	switch path {
	case "":
		return nil
	case "-":
		det.eve = bufio.NewWriter(os.Stdout)
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("open eve output: %w", err)
	}
	det.eve, det.eveFile = bufio.NewWriter(f), f
	return nil
}

func (det *detection) close() error {
	if det == nil || det.eve == nil {
		return nil
	}
	det.eveMu.Lock()
	defer det.eveMu.Unlock()
	err := det.eve.Flush()
	if det.eveFile != nil {
		det.eveFile.Close()
	}
	return err
}

// runDetection drives the workers from the kernel's mirror rings.
func (d *Daemon) runDetection(ctx context.Context) error {
	cfg := pipeline.Config{Workers: d.cls.Shards(), Midstream: true}
	opt := replay.Options{AV: d.det.av, OnAVHit: d.onAVHit, OnPacket: d.onPacket}
	opt.AVStream.MaxScanBytes = int64(d.cfg.AV.MaxScanBytes)
	p := pipeline.New(cfg, func(int) pipeline.Inspector {
		return replay.NewInspector(d.det.engine, d.onAlert, opt)
	})
	d.pipe.Store(p)
	return p.RunLive(ctx, func(ctx context.Context, shard int,
		fn func(data []byte, origLen int)) error {
		return d.cls.ReadMirror(ctx, shard, func(r kernel.MirrorRecord) {
			fn(r.Data, int(r.OrigLen))
		})
	})
}

// bypassDeep asks the kernel to stop mirroring the payload of a flow once
// stream_depth bytes of it were inspected, so elephant flows cost little.
// FIN and RST still reach the pipeline, so the flow ends cleanly.
func (d *Daemon) bypassDeep(ev *pipeline.Event) {
	f := ev.Flow
	depth := uint64(d.cfg.Detect.StreamDepth)
	if f.Bypassed || depth == 0 || f.Bytes[0]+f.Bytes[1] < depth {
		return
	}
	f.Bypassed = true
	t := flowspec.Tuple{Src: f.Client.Addr(), Dst: f.Server.Addr(), SrcPort: f.Client.Port(),
		DstPort: f.Server.Port()}
	if err := d.cls.Bypass(t); err != nil {
		d.log.Warn().Err(err).Str("flow", f.Client.String()+" > "+f.Server.String()).
			Msg("bypass flow")
		return
	}
	d.bypassed.Add(1)
}

// onAlert runs on a worker goroutine: log the alert, count it towards the
// multi-session classifications, and for block actions signal the flow and
// reset it from this packet's numbers.
func (d *Daemon) onAlert(a replay.Alert, ev *pipeline.Event) {
	det := d.det
	det.writeEVE(func(w io.Writer) error { return detect.WriteEVE(w, a.Alert, a.FlowID) })
	det.multiMu.Lock()
	sigs := det.multi.Observe(multisession.Alert{Src: a.Src, Dst: a.Dst,
		Classtype: a.Rule.Classtype, Time: ev.Time})
	det.multiMu.Unlock()
	for _, s := range sigs {
		d.respond(s.Spec, "multi-session:"+s.Rule, fmt.Sprintf("%d alerts", s.Count), nil)
	}
	if !a.Rule.IsBlock() && !det.promote[a.Rule.Action.String()] {
		return
	}
	d.respond(respond.SignalFor(a.Src, a.Dst), fmt.Sprintf("sid:%d", a.Rule.SID), a.Rule.Msg,
		ev)
}

// onAVHit logs an antivirus hit and blocks the flow by the av policy.
func (d *Daemon) onAVHit(h replay.AVHit, ev *pipeline.Event) {
	d.det.writeEVE(func(w io.Writer) error {
		return av.WriteEVE(w, h.Hit, av.FlowInfo{Time: time.Now(), FlowID: h.FlowID,
			Src: h.Server, Dst: h.Client})
	})
	spec, err := av.BlockSpec(d.det.avPol, h.Client, h.Server)
	if err != nil {
		d.log.Warn().Err(err).Msg("antivirus block policy")
		return
	}
	d.respond(spec, "av:"+h.Signature, "antivirus "+h.Kind+" in "+h.Object, ev)
}

// respond signals spec and, when the verdict came with a packet, resets
// that packet's flow at once from its own numbers and marks the flow, so
// its later segments already in the mirror rings (sent before the kernel
// had the entry) are answered too.
func (d *Daemon) respond(spec flowspec.Spec, source, why string, ev *pipeline.Event) {
	d.log.Info().Str("rule", source).Str("spec", spec.String()).Str("reason", why).
		Msg("detection")
	res, entry, _ := d.signal(blocktable.Signal{Spec: spec, Source: source, Time: time.Now()})
	if len(res.Installed) > 0 {
		// The kernel must tag the flow's next segments before the first RSTs
		// leave: the last ACK of a fast sender's receiver is often the only
		// segment whose numbers can still reset it.
		d.sync()
	}
	if ev == nil || ev.Packet == nil || entry == 0 {
		return
	}
	ev.Flow.Blocked = entry
	d.tracker.Handle(late(respond.TriggerFor(ev.Packet, entry)))
}

// late marks a trigger that comes from detection, which runs behind the
// wire: the tracker probes its flow once quiet in case its numbers were
// stale.
func late(t inject.Trigger) inject.Trigger {
	t.Late = true
	return t
}

// onPacket runs before detection on every segment a worker sees. Segments
// of a flow detection has blocked were mirrored before the kernel had the
// entry, so the kernel did not tag them: they trigger the injector here.
func (d *Daemon) onPacket(ev *pipeline.Event) {
	d.bypassDeep(ev)
	if id := ev.Flow.Blocked; id != 0 {
		d.tracker.Handle(late(respond.TriggerFor(ev.Packet, id)))
	}
}

func (det *detection) writeEVE(write func(io.Writer) error) {
	det.eveMu.Lock()
	defer det.eveMu.Unlock()
	det.alerts++
	if det.eve == nil {
		return
	}
	_ = write(det.eve)
	_ = det.eve.Flush() // an alert must be on disk when the reset is logged
}
