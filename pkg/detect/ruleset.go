package detect

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// RuleSet is an immutable, ordered collection of rules. Rules are kept in
// evaluation order: by action (pass, drop, reject, alert), then flowbits
// role (writers before readers), then priority, then load order.
type RuleSet struct {
	Rules    []*Rule
	bitNames map[string]int
	needHTTP bool
}

// NewRuleSet orders rules for evaluation and resolves their flowbit names.
// Duplicate (gid, sid) pairs are an error.
func NewRuleSet(rules ...*Rule) (*RuleSet, error) {
	seen := map[[2]uint32]bool{}
	for _, r := range rules {
		k := [2]uint32{r.GID, r.SID}
		if seen[k] {
			return nil, fmt.Errorf("new rule set: duplicate sid %d", r.SID)
		}
		seen[k] = true
	}
	return newRuleSet(rules), nil
}

func newRuleSet(rules []*Rule) *RuleSet {
	rs := &RuleSet{Rules: append([]*Rule(nil), rules...), bitNames: map[string]int{}}
	sort.SliceStable(rs.Rules, func(i, j int) bool {
		a, b := rs.Rules[i], rs.Rules[j]
		if a.Action != b.Action {
			return a.Action < b.Action
		}
		if a.bitsClass != b.bitsClass {
			return a.bitsClass < b.bitsClass
		}
		return a.Priority < b.Priority
	})
	for i, r := range rs.Rules {
		r.idx = i
		for j := range r.bits {
			op := &r.bits[j]
			op.ids = op.ids[:0]
			for _, n := range op.names {
				id, ok := rs.bitNames[n]
				if !ok {
					id = len(rs.bitNames)
					rs.bitNames[n] = id
				}
				op.ids = append(op.ids, id)
			}
		}
		if r.Proto == ProtoHTTP || r.appProto != 0 || r.bufMask&^1 != 0 {
			rs.needHTTP = true
		}
	}
	return rs
}

// LoadFiles reads rule files in order. Rules that cannot be used are
// returned as Skipped; the error is only for files that cannot be read.
func LoadFiles(vars Vars, paths ...string) (*RuleSet, []Skipped, error) {
	var all []*Rule
	var skipped []Skipped
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, skipped, fmt.Errorf("load rules: %w", err)
		}
		rules, sk, err := readRules(p, f, mergeVars(vars))
		f.Close()
		if err != nil {
			return nil, skipped, err
		}
		all = append(all, rules...)
		skipped = append(skipped, sk...)
	}
	all, skipped = dedupe(all, skipped)
	return newRuleSet(all), skipped, nil
}

// LoadReader reads rules from r; name is used in messages.
func LoadReader(name string, r io.Reader, vars Vars) (*RuleSet, []Skipped, error) {
	rules, skipped, err := readRules(name, r, mergeVars(vars))
	if err != nil {
		return nil, skipped, err
	}
	rules, skipped = dedupe(rules, skipped)
	return newRuleSet(rules), skipped, nil
}

func dedupe(rules []*Rule, skipped []Skipped) ([]*Rule, []Skipped) {
	seen := map[[2]uint32]*Rule{}
	out := rules[:0]
	for _, r := range rules {
		k := [2]uint32{r.GID, r.SID}
		if first, dup := seen[k]; dup {
			reason := fmt.Sprintf("duplicate sid (first at %s:%d)",
				first.File, first.Line)
			skipped = append(skipped, Skipped{File: r.File, Line: r.Line, SID: r.SID,
				Keyword: "sid", Err: ErrSyntax, Reason: reason})
			continue
		}
		seen[k] = r
		out = append(out, r)
	}
	return out, skipped
}

// readRules splits a rules file into rules (joining lines ending in '\'),
// skipping comments and blank lines, and parses each.
func readRules(name string, r io.Reader, vars Vars) ([]*Rule, []Skipped, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var rules []*Rule
	var skipped []Skipped
	var cur strings.Builder
	lineNo, start := 0, 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimRight(sc.Text(), " \t\r")
		if cur.Len() == 0 {
			start = lineNo
			trimmed := strings.TrimSpace(line)
			if trimmed == "" || strings.HasPrefix(trimmed, "#") {
				continue
			}
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(line[:len(line)-1])
			continue
		}
		cur.WriteString(line)
		rule, err := parseRule(cur.String(), vars)
		cur.Reset()
		if err != nil {
			err.File, err.Line = name, start
			skipped = append(skipped, *err)
			continue
		}
		rule.File, rule.Line = name, start
		rules = append(rules, rule)
	}
	if err := sc.Err(); err != nil {
		return nil, skipped, fmt.Errorf("read rules %q: %w", name, err)
	}
	if cur.Len() > 0 {
		skipped = append(skipped, Skipped{File: name, Line: start, Err: ErrSyntax,
			Reason: "rule continues past end of file"})
	}
	return rules, skipped, nil
}

// IsUnsupported reports whether err marks an unsupported construct.
func IsUnsupported(err error) bool { return errors.Is(err, ErrUnsupported) }
