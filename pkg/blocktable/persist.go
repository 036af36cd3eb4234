package blocktable

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/softips/softips/pkg/flowspec"
)

// StateFile is the name of the state file inside Options.StateDir. It is
// JSON lines: a header, then one entry per line, so errors name a line.
const StateFile = "blocktable.jsonl"

// SetAsideFile, in the state directory, receives admin entries that the
// guard rails refuse when loaded (the allowlist grew since they were
// added): the daemon starts without them and nothing an administrator
// wrote is lost.
const SetAsideFile = "blocktable.set-aside.jsonl"

const stateFormat = "softips-blocktable"

// ErrCorrupt is matched (errors.Is) by every error reading the state file.
var ErrCorrupt = errors.New("corrupt state file")

// CorruptError names the state file, the line (1-based) and, for JSON
// syntax errors, the column where reading it failed.
type CorruptError struct {
	Path      string
	Line, Col int
	Err       error
}

func (e *CorruptError) Error() string {
	pos := fmt.Sprintf("line %d", e.Line)
	if e.Col > 0 {
		pos += fmt.Sprintf(" column %d", e.Col)
	}
	return fmt.Sprintf("state file %q %s: %v", e.Path, pos, e.Err)
}

func (e *CorruptError) Unwrap() []error { return []error{ErrCorrupt, e.Err} }

type header struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	NextID  uint64    `json:"next_id"`
	Entries int       `json:"entries"`
	Saved   time.Time `json:"saved"`
}

// record is one entry on disk. Remaining is the idle lifetime left when
// the file was written: time the daemon is down does not count as idle,
// and a wrong wall clock at boot cannot expire or prolong everything.
type record struct {
	ID             uint64         `json:"id"`
	Spec           string         `json:"spec"`
	Origin         Origin         `json:"origin"`
	Created        time.Time      `json:"created"`
	LastHit        time.Time      `json:"last_hit,omitzero"`
	Hits           uint64         `json:"hits,omitempty"`
	Remaining      string         `json:"remaining,omitempty"`
	Comment        string         `json:"comment,omitempty"`
	Generalisation string         `json:"generalisation,omitempty"`
	Signals        []signalRecord `json:"signals,omitempty"`
}

type signalRecord struct {
	Spec   string    `json:"spec"`
	Source string    `json:"source"`
	Time   time.Time `json:"time"`
}

// Flush writes the state file if automatic entries changed since the last
// write, or if there are any and the last write is SaveEvery old: their
// remaining lifetimes on disk must not go stale. Admin changes are written
// at once; the daemon calls Flush on its aging tick and at shutdown for the
// rest.
func (t *Table) Flush() error {
	if t.opts.StateDir == "" {
		return nil
	}
	t.saveMu.Lock()
	defer t.saveMu.Unlock()
	t.mu.Lock()
	if !t.dirty && !t.staleLocked() {
		t.mu.Unlock()
		return nil
	}
	data, err := t.encodeLocked()
	t.dirty = false
	t.mu.Unlock()
	if err == nil {
		err = writeAtomic(t.opts.StateDir, StateFile, data)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.saved(err)
}

// persistLocked writes the state file now; the caller holds both locks.
func (t *Table) persistLocked() error {
	if t.opts.StateDir == "" {
		return nil
	}
	data, err := t.encodeLocked()
	if err == nil {
		err = writeAtomic(t.opts.StateDir, StateFile, data)
	}
	return t.saved(err)
}

func (t *Table) saved(err error) error {
	if err != nil {
		t.st.PersistErrors++
		t.dirty = true
		return fmt.Errorf("persist block table: %w", err)
	}
	t.st.Persisted++
	t.dirty = false
	t.savedAt = t.opts.Now()
	return nil
}

// staleLocked reports whether automatic entries exist and the state file
// is SaveEvery old.
func (t *Table) staleLocked() bool {
	return t.opts.SaveEvery > 0 && len(t.byID) > t.admin &&
		t.opts.Now().Sub(t.savedAt) >= t.opts.SaveEvery
}

func (t *Table) encodeLocked() ([]byte, error) {
	now := t.opts.Now()
	var recs []record
	for _, e := range t.entriesLocked() {
		if e.Origin == Admin || now.Before(e.Expires) {
			recs = append(recs, toRecord(e, now))
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	h := header{Format: stateFormat, Version: 1, NextID: t.nextID, Entries: len(recs),
		Saved: now}
	if err := enc.Encode(h); err != nil {
		return nil, err
	}
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return nil, fmt.Errorf("encode entry %d: %w", r.ID, err)
		}
	}
	return buf.Bytes(), nil
}

func toRecord(e Entry, now time.Time) record {
	r := record{ID: e.ID, Spec: e.Spec.String(), Origin: e.Origin, Created: e.Created,
		LastHit: e.LastHit, Hits: e.Hits, Comment: e.Comment,
		Generalisation: e.Explanation.Generalisation}
	if e.Origin != Admin {
		r.Remaining = e.Expires.Sub(now).String()
	}
	for _, s := range e.Explanation.Signals {
		r.Signals = append(r.Signals, signalRecord{s.Spec.String(), s.Source, s.Time})
	}
	return r
}

// writeAtomic replaces dir/name with data so that a crash leaves either
// the old file or the new one: temp file in the same directory, fsync,
// rename, fsync of the directory.
func writeAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %q: %w", tmp, err)
	}
	if err = os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %q: %w", dir, err)
	}
	return nil
}

// load reads the state directory. Temp files left by a crash mid-write
// are removed unread: the rename never happened, so the state file is
// whole.
func (t *Table) load() error {
	dir := t.opts.StateDir
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	removeTemps(dir)
	path := filepath.Join(dir, StateFile)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := t.decode(f, path); err != nil {
		return err
	}
	t.dirty = false
	t.savedAt = t.opts.Now()
	return nil
}

func removeTemps(dir string) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, de := range des {
		if strings.HasPrefix(de.Name(), "."+StateFile+".tmp-") {
			os.Remove(filepath.Join(dir, de.Name()))
		}
	}
}

func (t *Table) decode(r io.Reader, path string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	line := 0
	fail := func(col int, err error) error {
		return &CorruptError{Path: path, Line: line, Col: col, Err: err}
	}
	var h header
	n := 0
	for sc.Scan() {
		line++
		var err error
		col := 0
		if line == 1 {
			col, err = t.readHeader(sc.Bytes(), &h)
		} else {
			n++
			col, err = t.readRecord(sc.Bytes(), n, h.Entries)
		}
		if err != nil {
			return fail(col, err)
		}
	}
	if err := sc.Err(); err != nil {
		line++
		return fail(0, err)
	}
	if line == 0 {
		line = 1
		return fail(0, errors.New("empty file: no header"))
	}
	if n != h.Entries {
		return fail(0, fmt.Errorf("file ends after %d of %d entries", n, h.Entries))
	}
	return nil
}

func strictJSON(b []byte, v any) (col int, err error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err = dec.Decode(v); err == nil && dec.More() {
		return int(dec.InputOffset()) + 1, errors.New("data after the JSON value")
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		col = int(se.Offset)
	case errors.As(err, &te):
		col = int(te.Offset)
	}
	return col, err
}

func (t *Table) readHeader(b []byte, h *header) (int, error) {
	if col, err := strictJSON(b, h); err != nil {
		return col, fmt.Errorf("header: %w", err)
	}
	if h.Format != stateFormat || h.Version != 1 {
		return 0, fmt.Errorf("header: format %q version %d, want %q version 1",
			h.Format, h.Version, stateFormat)
	}
	t.nextID = max(h.NextID, 1)
	return 0, nil
}

func (t *Table) readRecord(b []byte, n, want int) (int, error) {
	if n > want {
		return 0, fmt.Errorf("more entries than the %d the header announces", want)
	}
	var r record
	if col, err := strictJSON(b, &r); err != nil {
		return col, fmt.Errorf("entry: %w", err)
	}
	it, expired, err := t.fromRecord(r)
	if err != nil {
		return 0, fmt.Errorf("entry %d: %w", r.ID, err)
	}
	if expired {
		t.st.Expired++
		return 0, nil
	}
	if err := t.opts.Guard.Check(it.Spec, it.Origin); err != nil {
		if it.Origin == Admin {
			return 0, t.setAside(b, it.Entry, err)
		}
		t.st.RefusedGuard++
		return 0, nil
	}
	t.insert(it)
	t.nextID = max(t.nextID, it.ID+1)
	return 0, nil
}

func (t *Table) fromRecord(r record) (*item, bool, error) {
	spec, err := flowspec.Parse(r.Spec)
	if err != nil {
		return nil, false, err
	}
	it := &item{Entry: Entry{ID: r.ID, Spec: spec, Origin: r.Origin,
		Invariants: spec.Invariants(), Created: r.Created, LastHit: r.LastHit,
		Hits: r.Hits, Comment: r.Comment}}
	it.Explanation.Generalisation = r.Generalisation
	for i, s := range r.Signals {
		ss, err := flowspec.Parse(s.Spec)
		if err != nil {
			return nil, false, fmt.Errorf("signal %d: %w", i+1, err)
		}
		it.Explanation.Signals = append(it.Explanation.Signals, Signal{ss, s.Source, s.Time})
	}
	if err := t.checkRecord(r, spec); err != nil {
		return nil, false, err
	}
	if r.Origin == Admin {
		return it, false, nil
	}
	left, err := time.ParseDuration(r.Remaining)
	if err != nil {
		return nil, false, fmt.Errorf("remaining %q: not a duration", r.Remaining)
	}
	it.Expires = t.opts.Now().Add(left)
	return it, left <= 0, nil
}

func (t *Table) checkRecord(r record, spec flowspec.Spec) error {
	switch {
	case r.ID == 0:
		return errors.New("id missing")
	case t.byID[r.ID] != nil:
		return errors.New("id repeated")
	case t.bySpec[Canonical(spec)] != nil:
		return fmt.Errorf("spec %q repeated", spec)
	case r.Origin < Detector || r.Origin > Admin:
		return errors.New("origin missing")
	case r.Origin == Admin && r.Remaining != "":
		return errors.New("admin entry with a remaining lifetime")
	}
	return nil
}

// setAside appends the state-file line of an admin entry the guard rails
// now refuse to SetAsideFile (fsynced) and leaves it out of the table,
// with a warning for the daemon to log. The next write of the state file
// drops it there.
func (t *Table) setAside(line []byte, e Entry, why error) error {
	path := filepath.Join(t.opts.StateDir, SetAsideFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("admin entry %d: %w; setting it aside: %v", e.ID, why, err)
	}
	_, werr := f.Write(append(append([]byte(nil), line...), '\n'))
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("admin entry %d: %w; setting it aside: %v", e.ID, why, err)
	}
	t.st.SetAside++
	t.dirty = true
	t.warnings = append(t.warnings, fmt.Sprintf("admin entry %d %q set aside in %s: %v; "+
		"add it again once the guard rails allow it", e.ID, e.Spec, path, why))
	return nil
}

// LoadWarnings returns what loading the state directory had to set aside.
func (t *Table) LoadWarnings() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.warnings)
}
