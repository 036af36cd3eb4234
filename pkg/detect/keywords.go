package detect

import (
	"strconv"
	"strings"
)

// flowOpts are the conditions of the flow keyword.
type flowOpts struct {
	established, notEstablished bool
	toServer, toClient          bool
	onlyStream, noStream        bool
}

func (b *builder) optFlow(o option) *RuleError {
	f := &b.r.flow
	for _, p := range strings.Split(o.value, ",") {
		switch strings.TrimSpace(p) {
		case "established":
			f.established = true
		case "not_established":
			f.notEstablished = true
		case "stateless", "no_frag", "only_frag":
		case "to_server", "from_client":
			f.toServer = true
		case "to_client", "from_server":
			f.toClient = true
		case "only_stream":
			f.onlyStream = true
		case "no_stream":
			f.noStream = true
		default:
			return unsupported("flow", "flow: unsupported option %q",
				strings.TrimSpace(p))
		}
	}
	if f.established && f.notEstablished || f.toServer && f.toClient ||
		f.onlyStream && f.noStream {
		return syntaxErr("flow", "flow: contradictory options %q", o.value)
	}
	return nil
}

// rangeCond is a numeric test such as dsize's "<10", "8<>20" or "!9".
type rangeCond struct {
	op     byte // '=', '<', 'l' (<=), '>', 'g' (>=), 'r' (range), '!'
	lo, hi int
}

func (c *rangeCond) match(n int) bool {
	switch c.op {
	case '<':
		return n < c.lo
	case 'l':
		return n <= c.lo
	case '>':
		return n > c.lo
	case 'g':
		return n >= c.lo
	case 'r':
		return n > c.lo && n < c.hi
	case '!':
		return n != c.lo && n > 0 // like Suricata, "not N" needs a payload
	case 'n':
		return n != c.lo
	}
	return n == c.lo
}

func parseRange(kw, v string) (*rangeCond, *RuleError) {
	v = strings.TrimSpace(v)
	c := &rangeCond{op: '='}
	num := func(s string) (int, bool) {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		return n, err == nil && n >= 0 && n <= 65535
	}
	var ok bool
	if a, z, isRange := strings.Cut(v, "<>"); isRange {
		c.op = 'r'
		var ok2 bool
		c.lo, ok = num(a)
		c.hi, ok2 = num(z)
		if !ok || !ok2 || c.lo >= c.hi {
			return nil, syntaxErr(kw, "%s: bad range %q", kw, v)
		}
		return c, nil
	}
	for _, p := range []struct {
		s  string
		op byte
	}{{"<=", 'l'}, {">=", 'g'}, {"<", '<'}, {">", '>'}, {"!", '!'}, {"=", '='}} {
		if strings.HasPrefix(v, p.s) {
			c.op, v = p.op, v[len(p.s):]
			break
		}
	}
	if c.lo, ok = num(v); !ok {
		return nil, syntaxErr(kw, "%s: bad value %q", kw, v)
	}
	return c, nil
}

func (b *builder) optDsize(o option) (err *RuleError) {
	b.r.dsize, err = parseRange("dsize", o.value)
	return err
}

// TCP flag bits as they sit in the header's flags byte.
const (
	FlagFIN uint8 = 1 << iota
	FlagSYN
	FlagRST
	FlagPSH
	FlagACK
	FlagURG
	FlagECE
	FlagCWR
)

var flagLetters = map[byte]uint8{
	'F': FlagFIN, 'S': FlagSYN, 'R': FlagRST, 'P': FlagPSH, 'A': FlagACK, 'U': FlagURG,
	'E': FlagECE, 'C': FlagCWR, '1': FlagCWR, '2': FlagECE,
}

// flagsCond is the flags keyword: mode '=' exact, '+' all of, '*' any of,
// '!' none of; mask bits are ignored.
type flagsCond struct {
	mode       byte
	bits, mask uint8
}

func (c *flagsCond) match(f uint8) bool {
	f &^= c.mask
	switch c.mode {
	case '+':
		return f&c.bits == c.bits
	case '*':
		return f&c.bits != 0
	case '!':
		return f&c.bits == 0
	}
	return f == c.bits
}

func (b *builder) optFlags(o option) *RuleError {
	set, ignore, _ := strings.Cut(strings.TrimSpace(o.value), ",")
	c := &flagsCond{mode: '='}
	for i := 0; i < len(set); i++ {
		ch := set[i]
		switch {
		case ch == '+' || ch == '*' || ch == '!':
			c.mode = ch
		case ch == '0':
		default:
			bit, ok := flagLetters[ch]
			if !ok {
				return syntaxErr("flags", "flags: unknown flag %q", ch)
			}
			c.bits |= bit
		}
	}
	for i := 0; i < len(ignore); i++ {
		bit, ok := flagLetters[ignore[i]]
		if !ok {
			return syntaxErr("flags", "flags: unknown flag %q in mask", ignore[i])
		}
		c.mask |= bit
	}
	b.r.flags = c
	return nil
}

// flowbitOp is one flowbits clause; names are resolved to bit indexes
// when the rule joins a RuleSet.
type flowbitOp struct {
	cmd   string // set, unset, toggle, isset, isnotset
	names []string
	ids   []int
}

func (b *builder) optFlowbits(o option) *RuleError {
	cmd, arg, _ := strings.Cut(o.value, ",")
	cmd, arg = strings.TrimSpace(cmd), strings.TrimSpace(arg)
	switch cmd {
	case "noalert":
		b.r.noalert = true
		return nil
	case "set", "unset", "toggle", "isset", "isnotset":
	default:
		return unsupported("flowbits", "flowbits: unsupported command %q", cmd)
	}
	if arg == "" {
		return syntaxErr("flowbits", "flowbits: %q needs a name", cmd)
	}
	op := flowbitOp{cmd: cmd}
	for _, n := range strings.Split(arg, "|") {
		n = strings.TrimSpace(n)
		if n == "" || strings.ContainsAny(n, " &") {
			return syntaxErr("flowbits", "flowbits: bad name %q", n)
		}
		op.names = append(op.names, n)
	}
	if len(op.names) > 1 && (cmd != "isset" && cmd != "isnotset") {
		return syntaxErr("flowbits", "flowbits: %q takes one name", cmd)
	}
	b.r.bits = append(b.r.bits, op)
	return nil
}
