package config

import (
	"gopkg.in/yaml.v3"

	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/softips/softips/pkg/blocktable"
	"github.com/softips/softips/pkg/flowspec"
	"github.com/softips/softips/pkg/invariant"
)

func TestDefaultsMatchDesign(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default() invalid: %v", err)
	}
	to := c.TableOptions()
	want := blocktable.DefaultOptions()
	want.StateDir = "/var/lib/softips"
	if !reflect.DeepEqual(to, want) {
		t.Errorf("TableOptions() = %+v\nwant %+v", to, want)
	}
	io, err := c.InvariantOptions()
	if err != nil || !reflect.DeepEqual(io, invariant.DefaultOptions()) {
		t.Errorf("InvariantOptions() = %+v, %v\nwant %+v", io, err, invariant.DefaultOptions())
	}
	if to.Lifetimes.For(1) != 365*24*time.Hour || to.Lifetimes.For(2) != 10*time.Minute ||
		to.Lifetimes.For(3) != 100*time.Second || to.Lifetimes.For(4) != 100*time.Second {
		t.Errorf("lifetimes %v", to.Lifetimes)
	}
}

const full = `
invariant:
  threshold: 3
  window: 5m
  lattice: ["src sport dst", "src dst"]
  max_tracked: 1000
table:
  state_dir: /tmp/softips-state
  max_entries: 500
  max_admin: 20
  max_explain: 4
  lifetimes: [1y, 30m, 2m, 90s]
guard:
  require_address: true
  min_invariants: 2
  max_width_v4: 24
  max_width_v6: 64
  sensor: [198.51.100.2]
  gateways: [198.51.100.1]
  management: [203.0.113.224/28]
  never_block: ["2001:db8:ff::/48"]
detect:
  rules: [/etc/softips/local.rules]
  vars: {HOME_NET: "[198.51.100.0/24]"}
  promote: [reject]
  multi_session:
    - {name: ssh-brute, by: src, classtype: attempted-admin, count: 20, window: 1m,
       keep: src}
inject:
  ttl: 32
  fixed_ttl: 0
  flow_burst: 10
  flow_interval: 500ms
  extra_budget: 4
  quiet_time: 1s
av:
  signatures: [/var/lib/clamav/main.hdb]
  max_scan_bytes: 65536
`

func TestParseFull(t *testing.T) {
	c, err := Parse([]byte(full))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"threshold", c.Invariant.Threshold, 3},
		{"window", c.Invariant.Window, Duration(5 * time.Minute)},
		{"lifetime 1", c.Table.Lifetimes[0], Duration(365 * 24 * time.Hour)},
		{"lifetime 4", c.Table.Lifetimes[3], Duration(90 * time.Second)},
		{"vars", c.Detect.Vars, map[string]string{"HOME_NET": "[198.51.100.0/24]",
			"EXTERNAL_NET": "any"}},
		{"multi", c.Detect.MultiSession[0], MultiSession{Name: "ssh-brute", By: "src",
			Classtype: "attempted-admin", Count: 20, Window: Duration(time.Minute), Keep: "src"}},
		{"flow interval", c.Inject.FlowInterval, Duration(500 * time.Millisecond)},
		{"av", c.AV.MaxScanBytes, 65536},
		{"protected", len(c.TableOptions().Guard.Protected), 4},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	io, err := c.InvariantOptions()
	if err != nil || len(io.Lattice) != 2 || io.Lattice[0] != invariant.Src|invariant.SrcPort|
		invariant.Dst || io.MinInvariants != 2 {
		t.Errorf("InvariantOptions() = %+v, %v", io, err)
	}
}

func TestParseEmptyIsDefault(t *testing.T) {
	for _, doc := range []string{"", "\n# nothing here\n"} {
		c, err := Parse([]byte(doc))
		if err != nil || !reflect.DeepEqual(c, Default()) {
			t.Errorf("Parse(%q) = %+v, %v; want Default()", doc, c, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ doc, want string }{
		{"invariant:\n  threshhold: 3\n", "line 2: field threshhold not found"},
		{"colour: red\n", "line 1: field colour not found"},
		{"invariant:\n  threshold: 0\n", "line 2: invariant.threshold: must be at least 1, got 0"},
		{"invariant:\n  window: 10 minutes\n", `line 2: "10 minutes" is not a duration`},
		{"invariant:\n  threshold: many\n", "line 2: cannot unmarshal !!str `many` into int"},
		{"invariant:\n  lattice: [src, sport dport, src proto]\n",
			`line 2: invariant.lattice[2]: shape "src proto": unknown field "proto"`},
		{"table:\n  lifetimes: [1y, 10m, 100s]\n",
			"line 2: table.lifetimes: want 4 durations"},
		{"table:\n  lifetimes: [1y, 10m, 0s, 100s]\n",
			"line 2: table.lifetimes[2]: must be positive, got 0s"},
		{"guard:\n  sensor:\n    - 198.51.100.2\n    - 198.51.100.7/24\n",
			`line 4: "198.51.100.7/24": host bits set under /24 (did you mean 198.51.100.0/24?)`},
		{"guard:\n  never_block: [example.com]\n",
			`line 2: "example.com": not an IP address or prefix`},
		{"guard:\n  min_invariants: 5\n  max_width_v4: 33\n",
			"line 2: guard.min_invariants: must be between 1 and 4, got 5\n" +
				"line 3: guard.max_width_v4: must be between 0 and 32, got 33"},
		{"detect:\n  promote: [drop, block]\n",
			`line 2: detect.promote[1]: unknown action "block"`},
		{"detect:\n  multi_session:\n    - name: x\n      by: host\n      count: 3\n" +
			"      window: 1m\n", `line 4: detect.multi_session[0].by: unknown grouping "host"`},
		{"av:\n  policy: everyone\n", `line 2: av.policy: unknown policy "everyone" ` +
			`(want client-server-port, client or pair)`},
		{"inject:\n  ttl: 300\n", "line 2: inject.ttl: must be between 1 and 255, got 300"},
		{"invariant: {threshold: 3}\n---\ninvariant: {threshold: 4}\n",
			"line 2: only one YAML document is allowed"},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) error %v\nwant it to contain %q", c.doc, err, c.want)
		}
	}
}

func TestKeyErrorsAreTyped(t *testing.T) {
	_, err := Parse([]byte("invariant:\n  max_tracked: 0\n"))
	var ke *KeyError
	if !errors.As(err, &ke) || ke.Key != "invariant.max_tracked" || ke.Line != 2 {
		t.Errorf("error %#v, want a KeyError for invariant.max_tracked at line 2", err)
	}
}

func TestLoadNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "softips.yaml")
	if err := os.WriteFile(path, []byte("inject:\n  flow_burst: 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	want := `load config "` + path + `": line 2: inject.flow_burst: must be at least 1, got 0`
	if err == nil || err.Error() != want {
		t.Errorf("Load error %v\nwant %s", err, want)
	}
	if _, err := Load(path + ".missing"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestF5FromConfig: the protected set of known fault F5, written as an
// operator would, refuses (a)-(c) and installs (d).
func TestF5FromConfig(t *testing.T) {
	c, err := Parse([]byte("guard:\n  sensor: [198.51.100.2]\n  gateways: [198.51.100.1]\n" +
		"  management: [203.0.113.224/28]\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := c.TableOptions()
	o.StateDir = ""
	tb, err := blocktable.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range []string{"198.51.100.1/32 0 0.0.0.0/0 0", "198.51.100.0/24 0 0.0.0.0/0 0",
		"203.0.113.230/32 0 0.0.0.0/0 0", "198.51.100.77/32 0 0.0.0.0/0 0"} {
		_, _, err := tb.Add(blocktable.Request{Spec: flowspec.MustParse(sp),
			Origin: blocktable.Derived})
		refused := errors.Is(err, blocktable.ErrRefused)
		if want := !strings.Contains(sp, ".77/"); refused != want {
			t.Errorf("%q: refused %v (%v), want %v", sp, refused, err, want)
		}
	}
}

// TestExampleIsDefault keeps examples/softips.yaml, the operator's
// reference, loadable and equal to Default.
func TestExampleIsDefault(t *testing.T) {
	c, err := Load(filepath.Join("..", "..", "examples", "softips.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := yaml.Marshal(c)
	want, _ := yaml.Marshal(Default())
	if string(got) != string(want) {
		t.Errorf("examples/softips.yaml differs from Default():\n%s\nwant\n%s", got, want)
	}
}
