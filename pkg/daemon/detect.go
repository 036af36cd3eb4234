package daemon

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/softips/softips/pkg/blocktable"
	"github.com/softips/softips/pkg/detect"
	"github.com/softips/softips/pkg/kernel"
	"github.com/softips/softips/pkg/pipeline"
	"github.com/softips/softips/pkg/replay"
	"github.com/softips/softips/pkg/respond"
)

// detection is the live half of DESIGN §8: kernel mirror rings feed the
// pipeline's flow-sharded workers, whose alerts become EVE records, block
// signals and immediate resets.
type detection struct {
	engine  *detect.Engine
	promote map[string]bool
	eveMu   sync.Mutex
	eve     *bufio.Writer
	eveFile io.Closer
	alerts  uint64
}

// openDetection loads the rules; with none, detection stays off and the
// kernel feeds no mirror rings.
func (d *Daemon) openDetection() error {
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
		return fmt.Errorf("load rules: %w", err)
	}
	for _, s := range skipped {
		d.log.Warn().Str("rule", s.Error()).Msg("rule skipped")
	}
	d.log.Info().Int("rules", len(rs.Rules)).Int("skipped", len(skipped)).Msg("rules loaded")
	det := &detection{engine: detect.NewEngine(rs, detect.Options{}),
		promote: map[string]bool{}}
	for _, a := range d.cfg.Detect.Promote {
		det.promote[a] = true
	}
	if err := det.openEVE(d.o.EVE); err != nil {
		return err
	}
	d.det = det
	return nil
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
	p := pipeline.New(cfg, func(int) pipeline.Inspector {
		return replay.NewInspector(d.det.engine, d.onAlert)
	})
	return p.RunLive(ctx, func(ctx context.Context, shard int,
		fn func(data []byte, origLen int)) error {
		return d.cls.ReadMirror(ctx, shard, func(r kernel.MirrorRecord) {
			fn(r.Data, int(r.OrigLen))
		})
	})
}

// onAlert runs on a worker goroutine: log the alert, and for block
// actions signal the flow and reset it from this packet's numbers.
func (d *Daemon) onAlert(a replay.Alert, ev *pipeline.Event) {
	det := d.det
	det.writeEVE(a)
	if !a.Rule.IsBlock() && !det.promote[a.Rule.Action.String()] {
		return
	}
	spec := respond.SignalFor(a.Src, a.Dst)
	d.log.Info().Uint32("rule", a.Rule.SID).Str("spec", spec.String()).
		Str("action", a.Rule.Action.String()).Str("reason", a.Rule.Msg).Msg("detection")
	res, _ := d.signal(blocktable.Signal{Spec: spec, Source: fmt.Sprintf("sid:%d", a.Rule.SID),
		Time: time.Now()})
	var entry uint64
	if len(res.Installed) > 0 {
		entry = res.Installed[0].ID
	} else if e, ok := d.table.Lookup(spec); ok {
		entry = e.ID
	}
	if ev.Packet != nil {
		d.tracker.Handle(respond.TriggerFor(ev.Packet, entry))
	}
}

func (det *detection) writeEVE(a replay.Alert) {
	det.eveMu.Lock()
	defer det.eveMu.Unlock()
	det.alerts++
	if det.eve == nil {
		return
	}
	_ = detect.WriteEVE(det.eve, a.Alert, a.FlowID)
	_ = det.eve.Flush() // an alert must be on disk when the reset is logged
}
