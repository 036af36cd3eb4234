package detect

import (
	"strconv"
	"strings"
)

// optIsdataat: isdataat:[!]N[,relative] — data exists N bytes into the
// buffer, or N bytes past the previous match.
func (b *builder) optIsdataat(o option) *RuleError {
	v := strings.TrimSpace(o.value)
	it := &item{test: 'i'}
	if strings.HasPrefix(v, "!") {
		it.neg, v = true, strings.TrimSpace(v[1:])
	}
	parts := strings.Split(v, ",")
	n, err := strconv.Atoi(strings.TrimSpace(parts[0]))
	if err != nil || n < 0 || n > 65535 {
		return syntaxErr("isdataat", "isdataat: bad offset %q", parts[0])
	}
	it.offset = n
	for _, p := range parts[1:] {
		switch strings.TrimSpace(p) {
		case "relative":
			it.relative = true
		case "rawbytes":
		default:
			return syntaxErr("isdataat", "isdataat: unknown option %q",
				strings.TrimSpace(p))
		}
	}
	buf := b.sticky
	if it.relative && b.lastAny != nil {
		buf = b.lastAny.buf
	}
	b.addTest(it, buf)
	return nil
}

// optBsize: bsize:N, <N, >N, N<>M on the current sticky buffer's length.
func (b *builder) optBsize(o option) *RuleError {
	c, err := parseRange("bsize", o.value)
	if err != nil {
		return err
	}
	if c.op == '!' {
		c.op = 'n' // plain "not equal" here, no payload rule as for dsize
	}
	b.addTest(&item{test: 's', size: c}, b.sticky)
	return nil
}

// optUrilen: urilen:N, <N, >N, N<>M[,norm|raw] on the request URI length.
func (b *builder) optUrilen(o option) *RuleError {
	v, kind, _ := strings.Cut(o.value, ",")
	buf := bufURI
	switch strings.TrimSpace(kind) {
	case "", "norm":
	case "raw":
		buf = bufRawURI
	default:
		return syntaxErr("urilen", "urilen: unknown option %q", strings.TrimSpace(kind))
	}
	c, err := parseRange("urilen", v)
	if err != nil {
		return err
	}
	b.addTest(&item{test: 's', size: c}, buf)
	return nil
}

func (b *builder) addTest(it *item, buf bufKind) {
	it.buf = buf
	b.items = append(b.items, it)
}
