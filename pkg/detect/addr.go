package detect

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Vars maps rule variable names (without '$') to their values, e.g.
// "HOME_NET" -> "[10.0.0.0/8,192.168.0.0/16]".
type Vars map[string]string

// DefaultVars returns the address and port variables Suricata ships in its
// default configuration. Callers override entries by name.
func DefaultVars() Vars {
	v := Vars{
		"HOME_NET":        "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]",
		"EXTERNAL_NET":    "!$HOME_NET",
		"AIM_SERVERS":     "$EXTERNAL_NET",
		"HTTP_PORTS":      "80",
		"SHELLCODE_PORTS": "!80",
		"ORACLE_PORTS":    "1521",
		"SSH_PORTS":       "22",
		"DNP3_PORTS":      "20000",
		"MODBUS_PORTS":    "502",
		"FILE_DATA_PORTS": "[$HTTP_PORTS,110,143]",
		"FTP_PORTS":       "21",
		"GENEVE_PORTS":    "6081",
		"VXLAN_PORTS":     "4789",
		"TEREDO_PORTS":    "3544",
	}
	for _, n := range []string{"HTTP_SERVERS", "SMTP_SERVERS", "SQL_SERVERS",
		"DNS_SERVERS", "TELNET_SERVERS", "DC_SERVERS", "DNP3_SERVER", "DNP3_CLIENT",
		"MODBUS_CLIENT", "MODBUS_SERVER", "ENIP_CLIENT", "ENIP_SERVER"} {
		v[n] = "$HOME_NET"
	}
	return v
}

func mergeVars(user Vars) Vars {
	v := DefaultVars()
	for k, val := range user {
		v[strings.TrimPrefix(k, "$")] = val
	}
	return v
}

// addrExpr is an address group: any, one prefix, or a list, maybe negated.
type addrExpr struct {
	neg  bool
	any  bool
	pfx  netip.Prefix
	list []addrExpr
}

func (e *addrExpr) match(a netip.Addr) bool {
	return e.inner(a) != e.neg
}

func (e *addrExpr) inner(a netip.Addr) bool {
	switch {
	case e.any:
		return true
	case e.list == nil:
		return e.pfx.Contains(a.Unmap())
	}
	return listMatch(e.list, func(x *addrExpr) bool { return x.match(a) },
		func(x *addrExpr) bool { return x.neg })
}

// listMatch: at least one positive member matches (or there is none), and
// every negated member agrees (its match() is true when the value is not
// in the excluded set).
func listMatch[T any](list []T, m func(*T) bool, neg func(*T) bool) bool {
	pos, hit := false, false
	for i := range list {
		x := &list[i]
		if neg(x) {
			if !m(x) {
				return false
			}
			continue
		}
		pos = true
		if !hit && m(x) {
			hit = true
		}
	}
	return hit || !pos
}

// portExpr is a port group: any, one range, or a list, maybe negated.
type portExpr struct {
	neg    bool
	any    bool
	lo, hi uint16
	list   []portExpr
}

func (e *portExpr) match(p uint16) bool {
	return e.inner(p) != e.neg
}

func (e *portExpr) inner(p uint16) bool {
	switch {
	case e.any:
		return true
	case e.list == nil:
		return p >= e.lo && p <= e.hi
	}
	return listMatch(e.list, func(x *portExpr) bool { return x.match(p) },
		func(x *portExpr) bool { return x.neg })
}

// groupParser expands variables and splits bracketed lists; depth bounds
// recursive variables.
type groupParser struct {
	vars  Vars
	depth int
}

func (g *groupParser) expand(s string) (string, error) {
	name := s[1:]
	v, ok := g.vars[name]
	if !ok {
		return "", fmt.Errorf("undefined variable %q", s)
	}
	if g.depth > 16 {
		return "", fmt.Errorf("variable %q nests too deep", s)
	}
	return v, nil
}

// splitList splits the inside of "[...]" at top-level commas.
func splitList(s string) ([]string, error) {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("unbalanced ']' in %q", s)
			}
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("unbalanced '[' in %q", s)
	}
	return append(out, strings.TrimSpace(s[start:])), nil
}

func (g *groupParser) addr(s string) (addrExpr, error) {
	return parseGroup(g, s, "address", parsePrefix, func(neg, any bool, l []addrExpr) addrExpr {
		return addrExpr{neg: neg, any: any, list: l}
	}, true)
}

func parsePrefix(s string) (addrExpr, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return addrExpr{}, fmt.Errorf("bad address %q", s)
		}
		return addrExpr{pfx: p.Masked()}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return addrExpr{}, fmt.Errorf("bad address %q", s)
	}
	return addrExpr{pfx: netip.PrefixFrom(a, a.BitLen())}, nil
}

func (g *groupParser) port(s string) (portExpr, error) {
	return parseGroup(g, s, "port", parsePortRange, func(neg, any bool, l []portExpr) portExpr {
		return portExpr{neg: neg, any: any, list: l}
	}, false)
}

// parseGroup reads the grammar address and port fields share around their
// own leaf form: negation "!x", "any", "$VAR" and lists "[a, b, ...]".
func parseGroup[E any](g *groupParser, s, what string, leaf func(string) (E, error),
	mk func(neg, any bool, list []E) E, needItems bool) (E, error) {
	var zero E
	s = strings.TrimSpace(s)
	again := func(x string) (E, error) { return parseGroup(g, x, what, leaf, mk, needItems) }
	switch {
	case strings.HasPrefix(s, "!"):
		inner, err := again(s[1:])
		if err != nil {
			return zero, err
		}
		return mk(true, false, []E{inner}), nil
	case s == "":
		return zero, fmt.Errorf("empty %s", what)
	case s == "any":
		return mk(false, true, nil), nil
	case s[0] == '$':
		v, err := g.expand(s)
		if err != nil {
			return zero, err
		}
		g.depth++
		defer func() { g.depth-- }()
		return again(v)
	case s[0] == '[':
		return parseList(s, again, mk, needItems)
	}
	return leaf(s)
}

func parseList[E any](s string, item func(string) (E, error),
	mk func(neg, any bool, list []E) E, needItems bool) (E, error) {
	var zero E
	if !strings.HasSuffix(s, "]") {
		return zero, fmt.Errorf("unterminated list %q", s)
	}
	parts, err := splitList(s[1 : len(s)-1])
	if err != nil {
		return zero, err
	}
	var list []E
	for _, p := range parts {
		x, err := item(p)
		if err != nil {
			return zero, err
		}
		list = append(list, x)
	}
	if needItems && list == nil {
		return zero, fmt.Errorf("empty list %q", s)
	}
	return mk(false, false, list), nil
}

func parsePortRange(s string) (portExpr, error) {
	lo, hi, isRange := strings.Cut(s, ":")
	l, h := uint64(0), uint64(65535)
	var err error
	if lo != "" {
		if l, err = strconv.ParseUint(lo, 10, 16); err != nil {
			return portExpr{}, fmt.Errorf("bad port %q", s)
		}
	}
	if !isRange {
		h = l
	} else if hi != "" {
		if h, err = strconv.ParseUint(hi, 10, 16); err != nil {
			return portExpr{}, fmt.Errorf("bad port %q", s)
		}
	}
	if (lo == "" && !isRange) || l > h {
		return portExpr{}, fmt.Errorf("bad port range %q", s)
	}
	return portExpr{lo: uint16(l), hi: uint16(h)}, nil
}
