package detect

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// suppression silences a rule, for every packet or for addresses.
type suppression struct {
	track trackBy // bySrc, byDst, byBoth (either side), or byRule (always)
	addrs addrExpr
}

func (s *suppression) match(in *Input) bool {
	switch s.track {
	case bySrc:
		return s.addrs.match(in.Src.Addr())
	case byDst:
		return s.addrs.match(in.Dst.Addr())
	case byBoth:
		return s.addrs.match(in.Src.Addr()) || s.addrs.match(in.Dst.Addr())
	}
	return true
}

// ApplyThresholdConfig reads a Suricata threshold.config: "threshold" and
// "event_filter" lines replace the threshold of the rules they name
// (sig_id 0 names every rule), "suppress" lines silence rules, optionally
// for some addresses. Lines it cannot use are returned as Skipped. Call it
// before NewEngine.
func (rs *RuleSet) ApplyThresholdConfig(name string, r io.Reader, vars Vars) ([]Skipped, error) {
	vars = mergeVars(vars)
	sc := bufio.NewScanner(r)
	var skipped []Skipped
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := rs.applyThresholdLine(line, vars); err != nil {
			err.File, err.Line = name, n
			skipped = append(skipped, *err)
		}
	}
	if err := sc.Err(); err != nil {
		return skipped, fmt.Errorf("read threshold config %q: %w", name, err)
	}
	return skipped, nil
}

func (rs *RuleSet) applyThresholdLine(line string, vars Vars) *RuleError {
	kind, rest, _ := strings.Cut(line, " ")
	fields := map[string]string{}
	var limits []string // settings other than the rule selection
	for _, part := range strings.Split(rest, ",") {
		part = strings.TrimSpace(part)
		k, v, _ := strings.Cut(part, " ")
		fields[k] = strings.TrimSpace(v)
		if k != "sig_id" && k != "gen_id" {
			limits = append(limits, part)
		}
	}
	apply, err := thresholdDirective(kind, fields, limits, vars)
	if err != nil {
		return err
	}
	sid, err := parseUint32("sig_id", fields["sig_id"])
	if err != nil {
		return err
	}
	gid := uint32(1)
	if g, ok := fields["gen_id"]; ok {
		if gid, err = parseUint32("gen_id", g); err != nil {
			return err
		}
	}
	found := false
	for _, r := range rs.Rules {
		if sid == 0 || r.SID == sid && (gid == 0 || r.GID == gid) {
			apply(r)
			found = true
		}
	}
	if !found {
		e := syntaxErr(kind, "%s: no rule with sid %d", kind, sid)
		e.SID = sid
		return e
	}
	return nil
}

// thresholdDirective returns what one threshold.config line does to a rule.
func thresholdDirective(kind string, fields map[string]string, limits []string,
	vars Vars) (func(*Rule), *RuleError) {
	switch kind {
	case "threshold", "event_filter":
		l, err := parseLimiter(kind, strings.Join(limits, ","), false)
		if err != nil {
			return nil, err
		}
		return func(r *Rule) { r.threshold, r.filter = l, nil }, nil
	case "suppress":
		s, err := parseSuppress(fields, vars)
		if err != nil {
			return nil, err
		}
		return func(r *Rule) { r.suppress = append(r.suppress, s) }, nil
	}
	return nil, unsupported(kind, "unsupported threshold.config directive %q", kind)
}

func parseSuppress(f map[string]string, vars Vars) (*suppression, *RuleError) {
	s := &suppression{track: byRule}
	track, hasTrack := f["track"]
	if !hasTrack {
		return s, nil
	}
	switch track {
	case "by_src":
		s.track = bySrc
	case "by_dst":
		s.track = byDst
	case "by_either":
		s.track = byBoth
	default:
		return nil, syntaxErr("suppress", "suppress: bad track %q", track)
	}
	g := &groupParser{vars: vars}
	a, err := g.addr(f["ip"])
	if err != nil {
		return nil, syntaxErr("suppress", "suppress: ip: %v", err)
	}
	s.addrs = a
	return s, nil
}
