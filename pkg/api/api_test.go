package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeBackend keeps entries in a slice; it checks only what the API layer
// must pass through unchanged.
type fakeBackend struct{ entries []Entry }

func (f *fakeBackend) List() []Entry { return f.entries }

func (f *fakeBackend) Add(r AddRequest) (AddResponse, error) {
	if r.Spec == "bad" {
		return AddResponse{}, fmt.Errorf("%w: parse spec %q: want 4 fields", ErrBadRequest, r.Spec)
	}
	e := Entry{ID: uint64(len(f.entries) + 1), Spec: r.Spec, Origin: "admin", Comment: r.Comment}
	f.entries = append(f.entries, e)
	return AddResponse{Entry: e, Created: true}, nil
}

func (f *fakeBackend) Delete(ref string) (Entry, error) {
	for i, e := range f.entries {
		if fmt.Sprint(e.ID) == ref || e.Spec == ref {
			f.entries = append(f.entries[:i], f.entries[i+1:]...)
			return e, nil
		}
	}
	return Entry{}, fmt.Errorf("delete %q: %w", ref, ErrNotFound)
}

func (f *fakeBackend) Explain(id uint64) (Entry, error) {
	for _, e := range f.entries {
		if e.ID == id {
			return e, nil
		}
	}
	return Entry{}, fmt.Errorf("explain %d: %w", id, ErrNotFound)
}

func (f *fakeBackend) Signal(r SignalRequest) (SignalResponse, error) {
	return SignalResponse{Decisions: []string{"seen " + r.Spec + " from " + r.Source}}, nil
}

func (f *fakeBackend) Stats() Stats { return Stats{"entries": uint64(len(f.entries))} }

func startServer(t *testing.T) (*Client, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "api.sock")
	l, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = Serve(ctx, l, Handler(&fakeBackend{})); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return NewClient(sock), sock
}

func TestRoundTrip(t *testing.T) {
	c, _ := startServer(t)
	res, err := c.Add(AddRequest{Spec: "198.51.100.7 0 203.0.113.10 80", Comment: "demo"})
	if err != nil || !res.Created || res.Entry.ID != 1 || res.Entry.Comment != "demo" {
		t.Fatalf("Add = %+v, %v", res, err)
	}
	list, err := c.List()
	if err != nil || len(list) != 1 || list[0].Spec != "198.51.100.7 0 203.0.113.10 80" {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if _, err := c.Delete("198.51.100.7 0 203.0.113.10 80"); err != nil {
		t.Fatalf("Delete by spec: %v", err)
	}
	if _, err := c.Delete("1"); err == nil || !strings.Contains(err.Error(), "no such entry") {
		t.Fatalf("second Delete: got %v, want no such entry", err)
	}
	st, err := c.Stats()
	if err != nil || st["entries"] != 0 {
		t.Fatalf("Stats = %v, %v", st, err)
	}
}

func TestBadRequests(t *testing.T) {
	c, sock := startServer(t)
	if _, err := c.Add(AddRequest{Spec: "bad"}); err == nil ||
		err.Error() != `bad request: parse spec "bad": want 4 fields` {
		t.Errorf("bad spec: got %v", err)
	}
	hc := NewClient(sock).hc
	cases := []struct{ method, path, body, want string }{
		{"POST", "/v1/blocks", `{"spec": 5}`, "request body: json: cannot unmarshal"},
		{"POST", "/v1/blocks", `{"spec":"x","evil":1}`, `unknown field "evil"`},
		{"POST", "/v1/blocks", `{"spec":"x"} {}`, "trailing data"},
		{"POST", "/v1/blocks", strings.Repeat(" ", maxBody+10), "request body too large"},
		{"GET", "/v1/blocks/abc/explain", "", `entry id "abc" is not a number`},
		{"GET", "/v1/blocks/99/explain", "", "no such entry"},
		{"PUT", "/v1/blocks", "", "method PUT not allowed on /v1/blocks"},
		{"GET", "/v2/nothing", "", "no endpoint /v2/nothing"},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, "http://softips"+tc.path, strings.NewReader(tc.body))
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e Error
		_ = json.NewDecoder(res.Body).Decode(&e)
		res.Body.Close()
		if res.StatusCode < 400 || !strings.Contains(e.Error, tc.want) {
			t.Errorf("%s %s: %s %q, want error containing %q", tc.method, tc.path,
				res.Status, e.Error, tc.want)
		}
	}
}

func TestListenSocketMode(t *testing.T) {
	_, sock := startServer(t)
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, want 0660", fi.Mode().Perm())
	}
	if _, err := Listen(sock); err == nil || !strings.Contains(err.Error(), "another daemon") {
		t.Errorf("second Listen on a live socket: got %v", err)
	}
}

func TestListenRefusesNonSocket(t *testing.T) {
	p := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(p, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(p); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("Listen over a regular file: got %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "keep me" {
		t.Error("Listen clobbered a regular file")
	}
}

func TestClientDaemonDown(t *testing.T) {
	c := NewClient(filepath.Join(t.TempDir(), "none.sock"))
	if _, err := c.List(); err == nil || !strings.Contains(err.Error(), "daemon not reachable") {
		t.Errorf("List with no daemon: got %v", err)
	}
}

func TestMetrics(t *testing.T) {
	c, _ := startServer(t)
	if _, err := c.Add(AddRequest{Spec: "198.51.100.7 0 203.0.113.10 80"}); err != nil {
		t.Fatal(err)
	}
	res, err := c.hc.Get("http://softips/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	_, _ = io.Copy(&b, res.Body)
	if !strings.Contains(b.String(), "softips_entries_total 1") ||
		!strings.Contains(b.String(), "# TYPE softips_entries_total counter") {
		t.Errorf("metrics lack the counter softips_entries_total 1:\n%s", b.String())
	}
}

// TestMetricsHandlerServesOnlyMetrics: the TCP metrics listener must not
// expose the control API.
func TestMetricsHandlerServesOnlyMetrics(t *testing.T) {
	h := MetricsHandler(&fakeBackend{})
	for path, want := range map[string]int{"/metrics": 200, "/v1/blocks": 404,
		"/v1/stats": 404} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != want {
			t.Errorf("GET %s: %d, want %d", path, rec.Code, want)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/blocks", strings.NewReader(`{}`)))
	if rec.Code < 400 {
		t.Errorf("POST /v1/blocks on the metrics listener: %d", rec.Code)
	}
}
