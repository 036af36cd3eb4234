package replay

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/softips/softips/internal/testenv"
	"github.com/softips/softips/pkg/detect"
	"github.com/softips/softips/pkg/pipeline"
)

// svPassFloor is how many suricata-verify cases pass today; the corpus
// test fails when fewer do.
const svPassFloor = 40

// svKnown lists cases that cannot pass yet, with the reason. They are
// skipped (visibly), not hidden; a known case that starts passing is
// reported in the log so it can leave this table.
var svKnown = map[string]string{}

// svTest is the part of a suricata-verify test.yaml softips reads.
type svTest struct {
	Args   yaml.Node `yaml:"args"`
	Checks []struct {
		Filter *struct {
			Count int            `yaml:"count"`
			Match map[string]any `yaml:"match"`
		} `yaml:"filter"`
	} `yaml:"checks"`
}

// argsText flattens args, given either as a list or as one string.
func (s *svTest) argsText() string {
	var list []string
	if s.Args.Decode(&list) == nil {
		return strings.Join(list, " ")
	}
	var one string
	_ = s.Args.Decode(&one)
	return one
}

// svCase is one runnable suricata-verify case.
type svCase struct {
	name, dir, pcap string
	rules           []string
	test            svTest
}

func loadCase(t *testing.T, dir string) svCase {
	c := svCase{name: filepath.Base(dir), dir: dir}
	b, err := os.ReadFile(filepath.Join(dir, "test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &c.test); err != nil {
		t.Fatalf("parse %s/test.yaml: %v", c.name, err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		switch ext := filepath.Ext(e.Name()); ext {
		case ".pcap", ".pcapng":
			if c.pcap != "" {
				t.Fatalf("%s: more than one capture", c.name)
			}
			c.pcap = filepath.Join(dir, e.Name())
		case ".rules":
			c.rules = append(c.rules, filepath.Join(dir, e.Name()))
		}
	}
	return c
}

// loadRules reads the case's rule files, and the threshold.config its
// args name.
func (c svCase) loadRules(t *testing.T) (*detect.RuleSet, []detect.Skipped) {
	rs, skipped, err := detect.LoadFiles(nil, c.rules...)
	if err != nil {
		t.Fatalf("load rules: %v", err)
	}
	if !strings.Contains(c.test.argsText(), "threshold-file") {
		return rs, skipped
	}
	f, err := os.Open(filepath.Join(c.dir, "threshold.config"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	more, err := rs.ApplyThresholdConfig("threshold.config", f, nil)
	if err != nil {
		t.Fatalf("threshold.config: %v", err)
	}
	return rs, append(skipped, more...)
}

// alertCheck is one expectation on the alert records.
type alertCheck struct {
	count int
	match map[string]any
}

// alertChecks returns the checks on alerts; checks on other event types
// (http, flow, fileinfo, stats) are Suricata logging details.
func (c svCase) alertChecks() []alertCheck {
	var out []alertCheck
	for _, ch := range c.test.Checks {
		f := ch.Filter
		if f == nil {
			continue
		}
		et, hasET := f.Match["event_type"]
		isAlert := et == "alert"
		if !hasET {
			for k := range f.Match {
				isAlert = isAlert || strings.HasPrefix(k, "alert.")
			}
		}
		if isAlert {
			out = append(out, alertCheck{count: f.Count, match: flatten("", f.Match, nil)})
		}
	}
	return out
}

// flatten turns nested match maps ({alert: {signature_id: 1}}) into the
// dotted form ("alert.signature_id").
func flatten(prefix string, m map[string]any, out map[string]any) map[string]any {
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			flatten(prefix+k+".", sub, out)
			continue
		}
		out[prefix+k] = v
	}
	return out
}

// evalKeys are the record keys compared. Others in a check are Suricata
// details (flow counters, http objects) softips does not log; pcap_cnt is
// left out too because softips inspects stream data when it arrives (like
// Suricata's stream.inline) while Suricata in IDS mode reports stream
// matches on the later packet that acknowledges the data.
var evalKeys = []string{"event_type", "src_ip", "src_port", "dest_ip", "dest_port", "proto",
	"alert.action", "alert.signature_id", "alert.signature", "alert.gid", "alert.rev",
	"has-key"}

func matches(rec map[string]any, m map[string]any) bool {
	for k, want := range m {
		if !slices.Contains(evalKeys, k) {
			continue
		}
		if k == "has-key" {
			if _, ok := rec[fmt.Sprint(want)]; !ok {
				return false
			}
			continue
		}
		if fmt.Sprint(rec[k]) != fmt.Sprint(want) {
			return false
		}
	}
	return true
}

// run replays the case and returns the failed checks as text.
func (c svCase) run(t *testing.T, rs *detect.RuleSet) []string {
	cfg := pipeline.Config{Midstream: strings.Contains(c.test.argsText(), "stream.midstream=true")}
	eng := detect.NewEngine(rs, detect.Options{})
	alerts, _, err := Run(context.Background(), c.pcap, eng, Options{Pipeline: cfg})
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]map[string]any, len(alerts))
	for i, a := range alerts {
		recs[i] = a.EVE()
	}
	var failed []string
	for _, ch := range c.alertChecks() {
		n := 0
		for _, r := range recs {
			if matches(r, ch.match) {
				n++
			}
		}
		if n != ch.count {
			failed = append(failed, fmt.Sprintf("%v: %d alerts, want %d", ch.match, n, ch.count))
		}
	}
	return failed
}

func TestSuricataVerify(t *testing.T) {
	root := filepath.Join(testenv.Corpus(t), "suricata-verify")
	dirs, err := filepath.Glob(filepath.Join(root, "*", "test.yaml"))
	if err != nil || len(dirs) < 40 {
		t.Fatalf("found %d cases in %q: %v", len(dirs), root, err)
	}
	sort.Strings(dirs)
	pass := 0
	var table []string
	for _, y := range dirs {
		c := loadCase(t, filepath.Dir(y))
		t.Run(c.name, func(t *testing.T) {
			status := "FAIL"
			defer func() { // runs on t.Skip and t.Fatal too
				if status == "pass" {
					pass++
				}
				table = append(table, fmt.Sprintf("%-48s %s", c.name, status))
			}()
			c.check(t, &status)
		})
	}
	t.Logf("suricata-verify: %d of %d cases pass\n%s", pass, len(dirs), strings.Join(table, "\n"))
	if pass < svPassFloor {
		t.Errorf("%d cases pass, floor is %d", pass, svPassFloor)
	}
}

// check runs one case and sets its status line.
func (c svCase) check(t *testing.T, status *string) {
	rs, skipped := c.loadRules(t)
	if len(c.alertChecks()) == 0 {
		*status = "skip: no alert checks in test.yaml"
		t.Skip(*status)
	}
	if len(skipped) > 0 {
		*status = fmt.Sprintf("skip: unsupported rule: %v", skipped[0])
		t.Skip(*status)
	}
	failed := strings.Join(c.run(t, rs), "; ")
	known, isKnown := svKnown[c.name]
	switch {
	case failed == "" && isKnown:
		t.Logf("known failure %q now passes: remove it from svKnown", known)
	case failed == "":
	case isKnown:
		*status = fmt.Sprintf("skip: known (%s): %s", known, failed)
		t.Skip(*status)
	default:
		*status = "FAIL: " + failed
		t.Errorf("checks failed: %s", failed)
		return
	}
	*status = "pass"
}
