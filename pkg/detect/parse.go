package detect

import (
	"strconv"
	"strings"
)

// ParseRule parses one rule with the default variables (DefaultVars).
// Errors are *RuleError values without file and line.
func ParseRule(text string) (*Rule, error) {
	r, err := parseRule(text, DefaultVars())
	if err != nil {
		return nil, err
	}
	return r, nil
}

func parseRule(text string, vars Vars) (*Rule, *RuleError) {
	text = strings.TrimSpace(text)
	open := strings.IndexByte(text, '(')
	if open < 0 || !strings.HasSuffix(text, ")") {
		return nil, syntaxErr("", "rule must end with an option list in parentheses")
	}
	opts, rerr := splitOptions(text[open+1 : len(text)-1])
	if rerr != nil {
		rerr.SID = findSID(opts)
		return nil, rerr
	}
	sid := findSID(opts)
	r := &Rule{GID: 1, Priority: 3, opts: opts}
	b := &builder{r: r}
	if err := b.header(strings.TrimSpace(text[:open]), vars); err != nil {
		err.SID = sid
		return nil, err
	}
	for _, o := range opts {
		if err := b.option(o); err != nil {
			err.SID = sid
			return nil, err
		}
	}
	if err := b.finish(); err != nil {
		err.SID = sid
		return nil, err
	}
	return r, nil
}

func findSID(opts []option) uint32 {
	for _, o := range opts {
		if o.name == "sid" {
			n, err := strconv.ParseUint(strings.TrimSpace(o.value), 10, 32)
			if err == nil {
				return uint32(n)
			}
		}
	}
	return 0
}

// splitOptions cuts "k:v; k2; k3:"quoted; value";" into options, honouring
// quotes and backslash escapes.
func splitOptions(s string) ([]option, *RuleError) {
	var out []option
	start, inQuote := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case c == ';' && !inQuote:
			o, err := makeOption(s[start:i])
			if err != nil {
				return out, err
			}
			out = append(out, o)
			start = i + 1
		}
	}
	if inQuote {
		return out, syntaxErr("", "unterminated quoted string")
	}
	if rest := strings.TrimSpace(s[start:]); rest != "" {
		return out, syntaxErr("", "option %q is not terminated by ';'", rest)
	}
	return out, nil
}

func makeOption(s string) (option, *RuleError) {
	s = strings.TrimSpace(s)
	name, value, has := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if name == "" {
		return option{}, syntaxErr("", "empty option")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '_' || c == '.' || c == '-' || c >= 'a' && c <= 'z' ||
			c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return option{}, syntaxErr("", "bad option name %q", name)
		}
	}
	return option{name: name, value: strings.TrimSpace(value), hasValue: has}, nil
}

// splitHeader splits the header at spaces outside brackets.
func splitHeader(s string) []string {
	var out []string
	depth, start := 0, -1
	for i := 0; i <= len(s); i++ {
		c := byte(' ')
		if i < len(s) {
			c = s[i]
		}
		switch {
		case c == '[':
			depth++
		case c == ']':
			depth--
		}
		space := c == ' ' || c == '\t'
		if space && depth <= 0 && start >= 0 {
			out = append(out, s[start:i])
			start = -1
		} else if !space && start < 0 {
			start = i
		}
	}
	return out
}

var actionByName = map[string]Action{
	"alert": ActionAlert, "drop": ActionDrop, "pass": ActionPass, "reject": ActionReject,
	"rejectsrc": ActionReject, "rejectdst": ActionReject, "rejectboth": ActionReject,
}

var protoByName = map[string]Proto{
	"ip": ProtoIP, "tcp": ProtoTCP, "tcp-pkt": ProtoTCPPkt, "tcp-stream": ProtoTCPStream,
	"http": ProtoHTTP, "http1": ProtoHTTP,
}

func (b *builder) header(h string, vars Vars) *RuleError {
	f := splitHeader(h)
	if len(f) != 7 {
		return syntaxErr("", "header needs 7 fields "+
			"(action proto src sport dir dst dport), got %d", len(f))
	}
	r := b.r
	act, ok := actionByName[f[0]]
	if !ok {
		return syntaxErr("", "unknown action %q", f[0])
	}
	r.Action = act
	if r.Proto, ok = protoByName[f[1]]; !ok {
		return unsupported(f[1], "unsupported protocol %q", f[1])
	}
	switch f[4] {
	case "->":
	case "<>":
		r.bidir = true
	default:
		return syntaxErr("", "bad direction %q (want -> or <>)", f[4])
	}
	g := &groupParser{vars: vars}
	var err error
	if r.src, err = g.addr(f[2]); err != nil {
		return syntaxErr("", "source address: %v", err)
	}
	if r.srcPort, err = g.port(f[3]); err != nil {
		return syntaxErr("", "source port: %v", err)
	}
	if r.dst, err = g.addr(f[5]); err != nil {
		return syntaxErr("", "destination address: %v", err)
	}
	if r.dstPort, err = g.port(f[6]); err != nil {
		return syntaxErr("", "destination port: %v", err)
	}
	r.header = strings.Join(f, " ")
	return nil
}
