package daemon

import (
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/softips/softips/pkg/api"
	"github.com/softips/softips/pkg/blocktable"
	"github.com/softips/softips/pkg/flowspec"
	"github.com/softips/softips/pkg/invariant"
)

// The Daemon is the API's backend.
var _ api.Backend = (*Daemon)(nil)

// List returns the block table.
func (d *Daemon) List() []api.Entry {
	es := d.entries()
	out := make([]api.Entry, len(es))
	now := time.Now()
	for i, e := range es {
		out[i] = apiEntry(e, now, false)
	}
	return out
}

// Add installs an admin block.
func (d *Daemon) Add(r api.AddRequest) (api.AddResponse, error) {
	spec, err := flowspec.Parse(r.Spec)
	if err != nil {
		return api.AddResponse{}, api.BadRequest(err)
	}
	if err := checkComment(r.Comment); err != nil {
		return api.AddResponse{}, api.BadRequest(err)
	}
	prev, had := d.table.Lookup(spec)
	e, added, err := d.table.Add(blocktable.Request{Spec: spec, Origin: blocktable.Admin,
		Comment: r.Comment})
	if err != nil {
		return api.AddResponse{}, tableErr(err)
	}
	d.sync()
	if added || e.Origin == blocktable.Admin {
		d.log.Info().Str("spec", spec.String()).Uint64("entry", e.ID).Str("origin", "admin").
			Str("comment", r.Comment).Bool("new", added).Msg("block added")
	}
	return api.AddResponse{Entry: apiEntry(e, time.Now(), false), Created: added,
		Promoted: had && prev.Origin != blocktable.Admin}, nil
}

// Delete removes an entry named by id or spec.
func (d *Daemon) Delete(ref string) (api.Entry, error) {
	var e blocktable.Entry
	var err error
	if id, perr := strconv.ParseUint(ref, 10, 64); perr == nil {
		e, err = d.table.Delete(id)
	} else {
		spec, perr := flowspec.Parse(ref)
		if perr != nil {
			return api.Entry{}, api.BadRequest(fmt.Errorf("%q is neither an entry id nor "+
				"a spec: %v", clip(ref), perr))
		}
		e, err = d.table.DeleteSpec(spec)
	}
	if err != nil {
		return api.Entry{}, tableErr(err)
	}
	d.sync()
	d.log.Info().Str("spec", e.Spec.String()).Uint64("entry", e.ID).
		Str("origin", e.Origin.String()).Msg("block removed")
	return apiEntry(e, time.Now(), false), nil
}

// Explain returns one entry with the signals behind it.
func (d *Daemon) Explain(id uint64) (api.Entry, error) {
	e, ok := d.table.Get(id)
	if !ok {
		return api.Entry{}, api.NotFound(fmt.Errorf("no entry %d", id))
	}
	return apiEntry(e, time.Now(), true), nil
}

// Signal takes a block signal from outside (CLI, SIEM) like a detector's.
func (d *Daemon) Signal(r api.SignalRequest) (api.SignalResponse, error) {
	spec, err := flowspec.Parse(r.Spec)
	if err != nil {
		return api.SignalResponse{}, api.BadRequest(err)
	}
	src := r.Source
	if src == "" {
		src = "cli"
	}
	if err := checkText("source", src, maxSource); err != nil {
		return api.SignalResponse{}, api.BadRequest(err)
	}
	res, _, err := d.signal(blocktable.Signal{Spec: spec, Source: "signal:" + src,
		Time: time.Now()})
	if err != nil {
		return res, tableErr(err)
	}
	d.sync() // the caller may test the block as soon as this returns
	return res, nil
}

// signal installs the specific block, unless a wider entry blocks it
// already, then lets invariant extraction widen repeated signals. Both
// steps go through the guard rails. It returns the entry that now blocks
// the signal's flow.
func (d *Daemon) signal(sig blocktable.Signal) (api.SignalResponse, uint64, error) {
	d.signals.Add(1)
	var res api.SignalResponse
	e, added, covered, err := d.table.AddUnlessCovered(blocktable.Request{Spec: sig.Spec,
		Origin: blocktable.Detector, Signals: []blocktable.Signal{sig}})
	switch {
	case err != nil:
		d.log.Info().Str("spec", sig.Spec.String()).Str("rule", sig.Source).Err(err).
			Msg("signal refused")
		return res, 0, err
	case covered:
		res.Decisions = append(res.Decisions, fmt.Sprintf("already blocked by entry %d %q (%s)",
			e.ID, e.Spec, e.Origin))
	case added:
		d.log.Info().Str("spec", e.Spec.String()).Uint64("entry", e.ID).
			Str("origin", "detector").Str("rule", sig.Source).Msg("block added")
		res.Installed = append(res.Installed, apiEntry(e, time.Now(), false))
	default:
		res.Decisions = append(res.Decisions, fmt.Sprintf("already blocked by entry %d (%s)",
			e.ID, e.Origin))
	}
	entry := e.ID
	for _, dec := range d.inv.Ingest(sig) {
		res.Decisions = append(res.Decisions, d.logDecision(dec))
		if dec.Kind == invariant.Widened {
			res.Installed = append(res.Installed, apiEntry(dec.Entry, time.Now(), false))
		}
	}
	return res, entry, nil
}

func (d *Daemon) logDecision(dec invariant.Decision) string {
	if dec.Kind == invariant.Widened {
		d.log.Info().Str("spec", dec.Spec.String()).Uint64("entry", dec.Entry.ID).
			Int("signals", dec.Count).Str("reason", "shape "+dec.Shape.String()).
			Msg("block widened")
		return fmt.Sprintf("widened to %s (entry %d) after %d distinct signals",
			dec.Spec, dec.Entry.ID, dec.Count)
	}
	d.log.Info().Str("spec", dec.Spec.String()).Str("reason", dec.Reason).
		Msg("widening refused")
	return fmt.Sprintf("widening to %s refused: %s", dec.Spec, dec.Reason)
}

// tableErr maps block-table refusals to 400s: the request, not the daemon,
// is at fault.
func tableErr(err error) error {
	switch {
	case errors.Is(err, blocktable.ErrNotFound):
		return api.NotFound(err)
	case errors.Is(err, blocktable.ErrRefused), errors.Is(err, blocktable.ErrFull),
		errors.Is(err, blocktable.ErrAdminFull):
		return api.BadRequest(err)
	}
	return err
}

func apiEntry(e blocktable.Entry, now time.Time, explain bool) api.Entry {
	out := api.Entry{ID: e.ID, Spec: e.Spec.String(), Origin: e.Origin.String(),
		Invariants: e.Invariants, Created: e.Created, LastHit: e.LastHit, Hits: e.Hits,
		Expires: e.Expires, Comment: e.Comment, ExpiresIn: "never"}
	if !e.Expires.IsZero() {
		out.ExpiresIn = humanDuration(e.Expires.Sub(now))
	}
	if explain {
		out.Pcap = e.Spec.PcapFilter()
		out.Explanation = explanation(e)
	}
	return out
}

func explanation(e blocktable.Entry) []string {
	var lines []string
	switch {
	case e.Origin == blocktable.Admin:
		lines = append(lines, "added by an administrator")
	case e.Explanation.Generalisation != "":
		lines = append(lines, "widened: "+e.Explanation.Generalisation)
	}
	for _, s := range e.Explanation.Signals {
		lines = append(lines, fmt.Sprintf("signal %s from %s at %s", s.Spec, s.Source,
			s.Time.Format(time.RFC3339)))
	}
	if len(lines) == 0 {
		lines = append(lines, "no recorded signals")
	}
	return lines
}

// maxComment and maxSource bound an entry's comment and a signal's
// source name; both are shown in tables, explanations and logs.
const (
	maxComment = 256
	maxSource  = 64
)

// checkComment refuses comments that would garble a terminal or a log.
func checkComment(c string) error { return checkText("comment", c, maxComment) }

// checkText refuses text that would garble a terminal or a log: control
// characters, bidirectional overrides, invisible format characters, line
// separators, invalid UTF-8, and overlong text.
func checkText(what, c string, max int) error {
	if n := utf8.RuneCountInString(c); n > max {
		return fmt.Errorf("%s is %d characters, at most %d", what, n, max)
	}
	for i, r := range c {
		if r == utf8.RuneError {
			return fmt.Errorf("%s: invalid UTF-8 at byte %d", what, i)
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) ||
			unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) ||
			unicode.Is(unicode.Co, r) {
			return fmt.Errorf("%s: character %U at byte %d is not printable", what, r, i)
		}
	}
	return nil
}

// clip shortens text quoted back in an error.
func clip(s string) string {
	if len(s) <= 80 {
		return s
	}
	return s[:77] + "..."
}

// humanDuration renders a remaining lifetime for people: days and hours
// past two days, whole seconds below.
func humanDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d >= 48*time.Hour {
		return fmt.Sprintf("%dd%dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	}
	return d.Round(time.Second).String()
}
