package daemon

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/softips/softips/pkg/api"
	"github.com/softips/softips/pkg/blocktable"
	"github.com/softips/softips/pkg/invariant"
)

// newBackend is a Daemon with its block table and extractor but no kernel:
// what the API layer drives. Protected: sensor 198.51.100.2, gateway
// 198.51.100.1, management 203.0.113.224/28 (known-faults.md F5).
func newBackend(t *testing.T) *Daemon {
	t.Helper()
	to := blocktable.DefaultOptions()
	to.Guard.Protected = []blocktable.Protected{
		{Prefix: netip.MustParsePrefix("198.51.100.2/32"), Label: "sensor mgmt0"},
		{Prefix: netip.MustParsePrefix("198.51.100.1/32"), Label: "gateway"},
		{Prefix: netip.MustParsePrefix("203.0.113.224/28"), Label: "management network"}}
	tb, err := blocktable.Open(to)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := invariant.New(tb, invariant.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return &Daemon{table: tb, inv: inv, log: zerolog.Nop()}
}

func TestAddDeleteAndBadInput(t *testing.T) {
	d := newBackend(t)
	res, err := d.Add(api.AddRequest{Spec: "198.51.100.7/32 0 203.0.113.10/32 80", Comment: "c"})
	if err != nil || !res.Created || res.Entry.Origin != "admin" || res.Entry.ExpiresIn != "never" {
		t.Fatalf("Add = %+v, %v", res, err)
	}
	if again, err := d.Add(api.AddRequest{Spec: "198.51.100.7 0 203.0.113.10 80"}); err != nil ||
		again.Created || again.Entry.ID != res.Entry.ID {
		t.Fatalf("second Add = %+v, %v; want the same entry, not created", again, err)
	}
	bad := map[string]string{
		"198.51.100.7/24 0 203.0.113.10 80": `field 1 (source address) "198.51.100.7/24": ` +
			`host bits set under /24`,
		"198.51.100.1 0 0.0.0.0/0 0":  "198.51.100.1 (gateway)",
		"203.0.113.230 0 0.0.0.0/0 0": "203.0.113.224/28 (management network)",
	}
	for spec, want := range bad {
		_, err := d.Add(api.AddRequest{Spec: spec})
		if !errors.Is(err, api.ErrBadRequest) || !strings.Contains(err.Error(), want) {
			t.Errorf("Add(%q) = %v, want a bad request naming %q", spec, err, want)
		}
	}
	if _, err := d.Delete("nonsense"); !errors.Is(err, api.ErrBadRequest) {
		t.Errorf("Delete(nonsense) = %v, want bad request", err)
	}
	if _, err := d.Delete("99"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("Delete(99) = %v, want not found", err)
	}
	if _, err := d.Delete("198.51.100.7 0 203.0.113.10 80"); err != nil {
		t.Errorf("Delete by spec: %v", err)
	}
	if n := len(d.List()); n != 0 {
		t.Errorf("%d entries left, want 0", n)
	}
}

// TestSignalWidensReferenceExample drives the reference example of DESIGN
// §4 through the daemon's signal path: the sixth distinct signal installs
// the widened entry, with its explanation.
func TestSignalWidensReferenceExample(t *testing.T) {
	d := newBackend(t)
	for i, port := range []string{"9001", "9002", "9003", "9004", "9005", "9006"} {
		res, err := d.Signal(api.SignalRequest{Spec: "198.51.100.7 40000 203.0.113.10 " + port,
			Source: "test"})
		if err != nil {
			t.Fatal(err)
		}
		widened := len(res.Installed) == 2
		if widened != (i == 5) {
			t.Fatalf("signal %d installed %+v", i+1, res.Installed)
		}
	}
	var derived api.Entry
	for _, e := range d.List() {
		if e.Origin == "derived" {
			derived = e
		}
	}
	if derived.Spec != "198.51.100.7 40000 203.0.113.10 0" {
		t.Fatalf("derived entry %+v, want 198.51.100.7 40000 203.0.113.10 0", derived)
	}
	ex, err := d.Explain(derived.ID)
	if err != nil || len(ex.Explanation) < 7 || !strings.Contains(ex.Pcap, "src port 40000") {
		t.Fatalf("Explain = %+v, %v", ex, err)
	}
	if _, err := d.Signal(api.SignalRequest{Spec: "0.0.0.0/0 0 0.0.0.0/0 0"}); !errors.Is(err,
		api.ErrBadRequest) {
		t.Errorf("all-wildcard signal: %v, want bad request", err)
	}
}

func TestCommentsAndRefusedSignals(t *testing.T) {
	d := newBackend(t)
	for _, c := range []string{"line1\nline2", "red\x1b[31m", "rtl\u202eevil",
		strings.Repeat("x", 257)} {
		_, err := d.Add(api.AddRequest{Spec: "198.51.100.7 0 0.0.0.0/0 0", Comment: c})
		if !errors.Is(err, api.ErrBadRequest) {
			t.Errorf("comment %q accepted (%v)", c, err)
		}
	}
	_, err := d.Signal(api.SignalRequest{Spec: "203.0.113.226 0 0.0.0.0/0 0"})
	if !errors.Is(err, api.ErrBadRequest) || !strings.Contains(err.Error(), "management") {
		t.Errorf("signal for the management net: %v, want a refusal naming it", err)
	}
	if _, err := d.Add(api.AddRequest{Spec: "198.51.100.9 0 0.0.0.0/0 0"}); err != nil {
		t.Fatal(err)
	}
	res, err := d.Signal(api.SignalRequest{Spec: "198.51.100.9 0 0.0.0.0/0 0"})
	if err != nil || len(res.Decisions) == 0 ||
		!strings.HasPrefix(res.Decisions[0], "already blocked by entry") {
		t.Errorf("signal of an admin spec: %+v, %v", res, err)
	}
	if _, err := d.Delete("7"); err == nil || err.Error() != "delete entry 7: no such entry" {
		t.Errorf("Delete(7) = %v, want the table's message once", err)
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		8759*time.Hour + 59*time.Minute + 54*time.Second: "364d23h",
		99*time.Second + 600*time.Millisecond:            "1m40s",
		-time.Second:                                     "0s",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestSignalCoveredByWiderEntry: a signal a wider entry already blocks
// installs nothing and says which entry blocks it; a garbled source name
// is refused like a garbled comment.
func TestSignalCoveredByWiderEntry(t *testing.T) {
	d := newBackend(t)
	if _, err := d.Add(api.AddRequest{Spec: "198.51.100.64/26 0 0.0.0.0/0 0"}); err != nil {
		t.Fatal(err)
	}
	res, err := d.Signal(api.SignalRequest{Spec: "198.51.100.90 40000 203.0.113.13 8080"})
	if err != nil || len(res.Installed) != 0 || len(res.Decisions) == 0 ||
		!strings.HasPrefix(res.Decisions[0], `already blocked by entry 1 "198.51.100.64/26`) {
		t.Errorf("covered signal: %+v, %v", res, err)
	}
	if n := len(d.List()); n != 1 {
		t.Errorf("%d entries, want only the covering one", n)
	}
	for _, src := range []string{"evil\x1b[2J", "rtl\u202e", "zw\u200b", strings.Repeat("s", 65)} {
		_, err := d.Signal(api.SignalRequest{Spec: "203.0.113.50 0 0.0.0.0/0 0", Source: src})
		if !errors.Is(err, api.ErrBadRequest) {
			t.Errorf("source %q accepted (%v)", src, err)
		}
	}
}
