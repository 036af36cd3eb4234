package daemon

import (
	"fmt"
	"reflect"
	"strings"
	"unicode"

	"github.com/softips/softips/pkg/api"
)

// Stats gathers every stage's counters under one flat namespace.
func (d *Daemon) Stats() api.Stats {
	st := api.Stats{}
	if kc, err := d.cls.Counters(); err == nil {
		for k, v := range kc {
			st["xdp_"+k] = v
		}
	}
	flatten(st, "table_", d.table.Stats())
	flatten(st, "invariant_", d.inv.Stats())
	flatten(st, "reset_", d.tracker.Stats())
	flatten(st, "inject_", d.sender.Stats())
	if drops, err := d.cls.MirrorDrops(); err == nil {
		for i, n := range drops {
			st[fmt.Sprintf("mirror_drops_shard%d", i)] = n
		}
	}
	if det := d.det; det != nil {
		det.eveMu.Lock()
		st["detect_events"] = det.alerts // alerts and antivirus hits
		det.eveMu.Unlock()
	}
	if p := d.pipe.Load(); p != nil {
		ps := p.Stats()
		flatten(st, "pipeline_", ps)
		for reason, n := range ps.Decode {
			st["pipeline_decode_"+snake(reason)] = n
		}
	}
	d.syncMu.Lock()
	st["sync_errors"] = d.syncErrs
	st["signals"] = d.signals.Load()
	st["flows_bypassed"] = d.bypassed.Load()
	d.syncMu.Unlock()
	return st
}

// flatten adds the integer fields of a stats struct as snake_case counters.
func flatten(st api.Stats, prefix string, v any) {
	rv := reflect.ValueOf(v)
	for i := 0; i < rv.NumField(); i++ {
		f := rv.Field(i)
		name := prefix + snake(rv.Type().Field(i).Name)
		switch f.Kind() {
		case reflect.Uint, reflect.Uint64, reflect.Uint32:
			st[name] = f.Uint()
		case reflect.Int, reflect.Int64, reflect.Int32:
			st[name] = uint64(max(f.Int(), 0))
		}
	}
}

func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) && i > 0 && !unicode.IsUpper(rune(s[i-1])) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// Gauges names the Stats entries that are levels, not counts, for the
// Prometheus export.
func (d *Daemon) Gauges() []string {
	return []string{"table_entries", "table_admin", "table_generation", "invariant_tracked",
		"reset_pending", "reset_flows", "pipeline_active_flows", "pipeline_held_bytes"}
}
