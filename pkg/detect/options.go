package detect

import (
	"strconv"
	"strings"
)

// builder accumulates one rule's options in order.
type builder struct {
	r       *Rule
	items   []*item
	sticky  bufKind
	last    *item // last content, target of content modifiers
	lastAny *item // last content or pcre
	hasSID  bool
}

type optFunc func(b *builder, o option) *RuleError

var optionTable map[string]optFunc

func init() {
	optionTable = map[string]optFunc{
		"msg":                (*builder).optMsg,
		"sid":                (*builder).optSID,
		"rev":                (*builder).optRev,
		"gid":                (*builder).optGID,
		"classtype":          (*builder).optClasstype,
		"priority":           (*builder).optPriority,
		"metadata":           ignoreOpt,
		"reference":          ignoreOpt,
		"target":             ignoreOpt,
		"content":            (*builder).optContent,
		"uricontent":         (*builder).optURIContent,
		"nocase":             (*builder).optNocase,
		"rawbytes":           (*builder).optRawbytes,
		"offset":             (*builder).optOffset,
		"depth":              (*builder).optDepth,
		"distance":           (*builder).optDistance,
		"within":             (*builder).optWithin,
		"startswith":         (*builder).optStartswith,
		"endswith":           (*builder).optEndswith,
		"fast_pattern":       (*builder).optFastPattern,
		"pcre":               (*builder).optPCRE,
		"flow":               (*builder).optFlow,
		"dsize":              (*builder).optDsize,
		"flags":              (*builder).optFlags,
		"flowbits":           (*builder).optFlowbits,
		"threshold":          (*builder).optThreshold,
		"detection_filter":   (*builder).optDetectionFilter,
		"noalert":            (*builder).optNoalert,
		"isdataat":           (*builder).optIsdataat,
		"bsize":              (*builder).optBsize,
		"urilen":             (*builder).optUrilen,
		"app-layer-protocol": (*builder).optAppProto,
	}
	for name, k := range stickyBuffers {
		optionTable[name] = stickyOpt(k)
	}
	for name, k := range legacyModifiers {
		optionTable[name] = legacyOpt(k)
	}
}

func ignoreOpt(*builder, option) *RuleError { return nil }

func (b *builder) optNoalert(o option) *RuleError {
	b.r.noalert = true
	return nil
}

// optAppProto supports the one application protocol the package parses.
func (b *builder) optAppProto(o option) *RuleError {
	v := strings.TrimSpace(o.value)
	switch v {
	case "http", "http1":
		b.r.appProto = 1
	case "!http", "!http1":
		b.r.appProto = -1
	default:
		return unsupported("app-layer-protocol",
			"app-layer-protocol: unsupported protocol %q", v)
	}
	return nil
}

func (b *builder) option(o option) *RuleError {
	f, ok := optionTable[o.name]
	if !ok {
		return unsupported(o.name, "unsupported keyword %q", o.name)
	}
	if err := f(b, o); err != nil {
		if err.Keyword == "" {
			err.Keyword = o.name
		}
		return err
	}
	return nil
}

func unquote(kw, v string) (string, *RuleError) {
	v = strings.TrimSpace(v)
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v, nil
	}
	var sb strings.Builder
	for i := 1; i < len(v)-1; i++ {
		if v[i] == '\\' && i+1 < len(v)-1 {
			i++
		}
		sb.WriteByte(v[i])
	}
	return sb.String(), nil
}

func (b *builder) optMsg(o option) *RuleError {
	var err *RuleError
	b.r.Msg, err = unquote("msg", o.value)
	return err
}

func parseUint32(kw, v string) (uint32, *RuleError) {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
	if err != nil {
		return 0, syntaxErr(kw, "%s: bad number %q", kw, v)
	}
	return uint32(n), nil
}

func (b *builder) optSID(o option) *RuleError {
	n, err := parseUint32("sid", o.value)
	if err != nil {
		return err
	}
	if n == 0 {
		return syntaxErr("sid", "sid must not be 0")
	}
	b.r.SID, b.hasSID = n, true
	return nil
}

func (b *builder) optRev(o option) (err *RuleError) {
	b.r.Rev, err = parseUint32("rev", o.value)
	return err
}

func (b *builder) optGID(o option) (err *RuleError) {
	b.r.GID, err = parseUint32("gid", o.value)
	return err
}

func (b *builder) optClasstype(o option) *RuleError {
	b.r.Classtype = strings.TrimSpace(o.value)
	return nil
}

func (b *builder) optPriority(o option) *RuleError {
	n, err := parseUint32("priority", o.value)
	if err != nil {
		return err
	}
	if n < 1 || n > 255 {
		return syntaxErr("priority", "priority %d out of range 1..255", n)
	}
	b.r.Priority = int(n)
	return nil
}

func (b *builder) addItem(it *item) {
	it.buf = b.sticky
	b.items = append(b.items, it)
	b.lastAny = it
	if !it.isPCRE && it.test == 0 {
		b.last = it
	}
}

func (b *builder) optContent(o option) *RuleError {
	pat, neg, err := parseContent(o.value)
	if err != nil {
		return err
	}
	b.addItem(&item{pat: pat, neg: neg})
	return nil
}

func (b *builder) optURIContent(o option) *RuleError {
	if err := b.optContent(o); err != nil {
		return err
	}
	b.last.buf = bufURI
	return nil
}

// modTarget returns the content a modifier applies to.
func (b *builder) modTarget(kw string) (*item, *RuleError) {
	if b.last == nil {
		return nil, syntaxErr(kw, "%q needs a preceding content", kw)
	}
	return b.last, nil
}

func (b *builder) optNocase(o option) *RuleError {
	it, err := b.modTarget("nocase")
	if err == nil {
		it.nocase = true
	}
	return err
}

func (b *builder) optRawbytes(o option) *RuleError {
	_, err := b.modTarget("rawbytes")
	return err
}

func parseInt(kw, v string) (int, *RuleError) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < -65535 || n > 65535 {
		return 0, syntaxErr(kw, "%s: bad number %q", kw, v)
	}
	return n, nil
}

func (b *builder) intMod(kw string, o option, min int) (*item, int, *RuleError) {
	it, err := b.modTarget(kw)
	if err != nil {
		return nil, 0, err
	}
	n, err := parseInt(kw, o.value)
	if err != nil {
		return nil, 0, err
	}
	if n < min {
		return nil, 0, syntaxErr(kw, "%s: %d below minimum %d", kw, n, min)
	}
	return it, n, nil
}

func (b *builder) optOffset(o option) *RuleError {
	it, n, err := b.intMod("offset", o, 0)
	if err == nil {
		it.offset, it.hasOffset = n, true
	}
	return err
}

func (b *builder) optDepth(o option) *RuleError {
	it, n, err := b.intMod("depth", o, 1)
	if err == nil {
		it.depth, it.hasDepth = n, true
	}
	return err
}

func (b *builder) optDistance(o option) *RuleError {
	it, n, err := b.intMod("distance", o, -65535)
	if err == nil {
		it.distance, it.hasDistance, it.relative = n, true, true
	}
	return err
}

func (b *builder) optWithin(o option) *RuleError {
	it, n, err := b.intMod("within", o, 1)
	if err == nil {
		it.within, it.hasWithin, it.relative = n, true, true
	}
	return err
}

func (b *builder) optStartswith(o option) *RuleError {
	it, err := b.modTarget("startswith")
	if err == nil {
		it.startswith = true
	}
	return err
}

func (b *builder) optEndswith(o option) *RuleError {
	it, err := b.modTarget("endswith")
	if err == nil {
		it.endswith = true
	}
	return err
}

func (b *builder) optFastPattern(o option) *RuleError {
	it, err := b.modTarget("fast_pattern")
	if err != nil {
		return err
	}
	v := strings.TrimSpace(o.value)
	switch {
	case !o.hasValue || v == "only":
		it.fastPattern = true
		return nil
	}
	off, ln, ok := strings.Cut(v, ",")
	a, e1 := strconv.Atoi(strings.TrimSpace(off))
	n, e2 := strconv.Atoi(strings.TrimSpace(ln))
	if !ok || e1 != nil || e2 != nil || a < 0 || n < 1 || a+n > len(it.pat) {
		return syntaxErr("fast_pattern", "fast_pattern: bad chop %q", v)
	}
	it.fastPattern, it.fpOff, it.fpLen = true, a, n
	return nil
}

func stickyOpt(k bufKind) optFunc {
	return func(b *builder, o option) *RuleError {
		if o.hasValue {
			return syntaxErr(o.name, "%q takes no value", o.name)
		}
		b.sticky, b.last, b.lastAny = k, nil, nil
		return nil
	}
}

func legacyOpt(k bufKind) optFunc {
	return func(b *builder, o option) *RuleError {
		it, err := b.modTarget(o.name)
		if err != nil {
			return err
		}
		if it.buf != bufRaw {
			return syntaxErr(o.name, "%q on a content already in buffer %q",
				o.name, bufNames[it.buf])
		}
		it.buf = k
		return nil
	}
}
