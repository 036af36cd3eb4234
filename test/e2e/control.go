//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/softips/softips/pkg/api"
	"github.com/softips/softips/pkg/flowspec"
)

// Origins of automatic entries, as `block list` names them.
const (
	OriginDetector = "detector"
	OriginDerived  = "derived"
)

// Signal runs `softips signal SPEC --source SOURCE --json`.
func (c CLI) Signal(ctx context.Context, spec, source string) (api.SignalResponse, error) {
	var res api.SignalResponse
	err := c.runJSON(ctx, &res, "signal", spec, "--source", source, "--json")
	return res, err
}

// Entries runs `softips block list --json` and keeps every field.
func (c CLI) Entries(ctx context.Context) ([]api.Entry, error) {
	var es []api.Entry
	err := c.runJSON(ctx, &es, "block", "list", "--json")
	return es, err
}

// Explain runs `softips block explain ID --json`.
func (c CLI) Explain(ctx context.Context, id uint64) (api.Entry, error) {
	var e api.Entry
	err := c.runJSON(ctx, &e, "block", "explain", strconv.FormatUint(id, 10), "--json")
	return e, err
}

// Stats runs `softips stats --json`.
func (c CLI) Stats(ctx context.Context) (api.Stats, error) {
	var st api.Stats
	err := c.runJSON(ctx, &st, "stats", "--json")
	return st, err
}

func (c CLI) runJSON(ctx context.Context, out any, args ...string) error {
	b, err := c.Run(ctx, args...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("softips %v: decode %q: %w", args, b, err)
	}
	return nil
}

// FindEntry returns the entry whose spec means the same as spec.
func FindEntry(entries []api.Entry, spec string) (api.Entry, bool) {
	want, err := flowspec.Parse(spec)
	if err != nil {
		return api.Entry{}, false
	}
	for _, e := range entries {
		if got, err := flowspec.Parse(e.Spec); err == nil && got == want {
			return e, true
		}
	}
	return api.Entry{}, false
}

// ByOrigin returns the entries of one origin.
func ByOrigin(entries []api.Entry, origin string) []api.Entry {
	var out []api.Entry
	for _, e := range entries {
		if e.Origin == origin {
			out = append(out, e)
		}
	}
	return out
}

// Kill sends SIGKILL to the daemon's own pid, as a crash would end it, and
// waits at most wait for it to be gone. Nothing of it runs afterwards: no
// flush, no cleanup.
func (d *Daemon) Kill(wait time.Duration) error {
	defer d.logf.Close()
	select {
	case <-d.exited:
		return fmt.Errorf("kill daemon pid %d: %w already", d.PID(), ErrDaemonExited)
	default:
	}
	if err := syscall.Kill(d.PID(), syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill daemon pid %d: %w", d.PID(), err)
	}
	select {
	case <-d.exited:
		return nil
	case <-time.After(wait):
		return fmt.Errorf("kill daemon pid %d: still running %v after SIGKILL", d.PID(), wait)
	}
}

// EVERecord is one line of an EVE JSON file, decoded loosely.
type EVERecord map[string]any

// EventType returns the record's event_type.
func (r EVERecord) EventType() string { s, _ := r["event_type"].(string); return s }

// SignatureID returns alert.signature_id, or 0.
func (r EVERecord) SignatureID() int64 {
	a, _ := r["alert"].(map[string]any)
	f, _ := a["signature_id"].(float64)
	return int64(f)
}

// ReadEVE decodes every complete line of the EVE file at path; a line that
// is not JSON is an error naming its number.
func ReadEVE(path string) ([]EVERecord, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read eve: %w", err)
	}
	var out []EVERecord
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		var r EVERecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("read eve %q line %d: %w", path, n, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// WaitEVE polls the EVE file until a record satisfies match or wait
// passes; it returns the first such record.
func WaitEVE(path string, wait time.Duration, match func(EVERecord) bool) (EVERecord, error) {
	deadline := time.Now().Add(wait)
	for {
		recs, err := ReadEVE(path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		for _, r := range recs {
			if match(r) {
				return r, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("eve %q: no matching record in %v (%d records)", path,
				wait, len(recs))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
