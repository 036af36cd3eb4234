package detect

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/softips/softips/internal/testenv"
)

// TestLoadCorpusRules loads every rules file of the shared corpus: none
// may fail fatally, every rule must load (the corpus was chosen for the
// supported keywords), and any skip must name its file and line.
func TestLoadCorpusRules(t *testing.T) {
	dir := testenv.Corpus(t)
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".rules") {
			files = append(files, p)
		}
		return err
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("walk corpus: %v (%d files)", err, len(files))
	}
	total := 0
	for _, f := range files {
		rs, skipped, err := LoadFiles(nil, f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		total += len(rs.Rules)
		for _, s := range skipped {
			if s.File != f || s.Line == 0 {
				t.Errorf("skip without position: %+v", s)
			}
			t.Errorf("corpus rule skipped: %v", s.Error())
		}
	}
	if total < 80 {
		t.Errorf("loaded %d corpus rules from %d files, want at least 80", total, len(files))
	}
}

func TestLoadFilesMissing(t *testing.T) {
	_, _, err := LoadFiles(nil, filepath.Join(t.TempDir(), "nope.rules"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v, want ErrNotExist", err)
	}
}

func TestVarsOverride(t *testing.T) {
	rs, skipped, err := LoadReader("v", strings.NewReader(
		`alert tcp $HOME_NET any -> any $HTTP_PORTS (content:"x"; sid:1;)`),
		Vars{"HOME_NET": "198.51.100.0/24", "$HTTP_PORTS": "[8080,8000:8009]"})
	if err != nil || len(skipped) != 0 {
		t.Fatal(err, skipped)
	}
	e := NewEngine(rs, Options{})
	in := pkt(nil, true, "x")
	in.Src = netip.MustParseAddrPort("198.51.100.7:4000")
	for port, want := range map[uint16]int{8080: 1, 8005: 1, 80: 0} {
		in.Dst = netip.AddrPortFrom(srv.Addr(), port)
		if got := len(sids(e, in)); got != want {
			t.Errorf("port %d: %d alerts, want %d", port, got, want)
		}
	}
}

func TestWriteEVE(t *testing.T) {
	r := mustRule(t, `reject tcp any any -> any any (msg:"m \"q\""; classtype:bad-unknown; `+
		`sid:7; rev:3;)`)
	ts := time.Date(2009, 10, 16, 16, 44, 16, 83524000, time.UTC)
	a := Alert{Rule: r, Time: ts, Src: netip.MustParseAddrPort("192.168.2.3:37010"),
		Dst: netip.MustParseAddrPort("[2001:db8::1]:80")}
	var b bytes.Buffer
	if err := WriteEVE(&b, a, 42); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("}\n")) || bytes.Count(b.Bytes(), []byte("\n")) != 1 {
		t.Errorf("not one JSON line: %q", b.String())
	}
	var got map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	alert := got["alert"].(map[string]any)
	checks := map[string]any{
		"timestamp": "2009-10-16T16:44:16.083524+0000", "flow_id": 42.0,
		"src_ip": "192.168.2.3", "src_port": 37010.0, "dest_ip": "2001:db8::1",
		"dest_port": 80.0, "proto": "TCP", "event_type": "alert",
	}
	for k, v := range checks {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	achecks := map[string]any{"action": "blocked", "signature_id": 7.0, "rev": 3.0,
		"signature": `m "q"`, "category": "bad-unknown"}
	for k, v := range achecks {
		if alert[k] != v {
			t.Errorf("alert.%s = %v, want %v", k, alert[k], v)
		}
	}
}
