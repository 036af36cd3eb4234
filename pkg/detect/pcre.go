package detect

import (
	"regexp"
	"strings"
)

func (b *builder) optPCRE(o option) *RuleError {
	v := strings.TrimSpace(o.value)
	neg := strings.HasPrefix(v, "!")
	if neg {
		v = strings.TrimSpace(v[1:])
	}
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return syntaxErr("pcre", "pcre must be a quoted string")
	}
	v = v[1 : len(v)-1]
	end := strings.LastIndexByte(v, '/')
	if !strings.HasPrefix(v, "/") || end < 1 {
		return syntaxErr("pcre", "pcre must look like \"/regex/flags\"")
	}
	it := &item{isPCRE: true, neg: neg}
	re, buf, err := compilePCRE(v[1:end], v[end+1:], it)
	if err != nil {
		return err
	}
	it.re = re
	b.addItem(it)
	if buf != bufRaw {
		if b.sticky != bufRaw {
			return syntaxErr("pcre", "pcre buffer flag inside sticky buffer %q",
				bufNames[b.sticky])
		}
		it.buf = buf
	}
	return nil
}

// compilePCRE turns a PCRE pattern and its flags into a Go regexp, or says
// which construct RE2 cannot express.
func compilePCRE(pat, flags string, it *item) (*regexp.Regexp, bufKind, *RuleError) {
	var goFlags strings.Builder
	buf, extended, anchored := bufRaw, false, false
	for i := 0; i < len(flags); i++ {
		c := flags[i]
		switch c {
		case 'i', 's', 'm', 'U':
			if c == 'U' {
				buf = bufURI
				continue
			}
			goFlags.WriteByte(c)
		case 'G':
			goFlags.WriteByte('U')
		case 'x':
			extended = true
		case 'A':
			anchored = true
		case 'R':
			it.relative = true
		case 'O', 'B', 'E':
		default:
			k, ok := pcreBufFlags[c]
			if !ok {
				return nil, 0, unsupported("pcre", "pcre: unsupported flag %q", c)
			}
			buf = k
		}
	}
	if extended {
		pat = stripExtended(pat)
	}
	if what := nonRE2(pat); what != "" {
		return nil, 0, unsupported("pcre", "pcre: %s is not RE2-compatible", what)
	}
	if anchored {
		pat = `\A(?:` + pat + `)`
	}
	if goFlags.Len() > 0 {
		pat = "(?" + goFlags.String() + ")" + pat
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, 0, unsupported("pcre", "pcre: not RE2-compatible: %v", err)
	}
	return re, buf, nil
}

var nonRE2Groups = []struct{ prefix, name string }{
	{"(?=", `lookahead "(?="`}, {"(?!", `negative lookahead "(?!"`},
	{"(?<=", `lookbehind "(?<="`}, {"(?<!", `negative lookbehind "(?<!"`},
	{"(?>", `atomic group "(?>"`}, {"(?(", `conditional "(?("`},
	{"(?|", `branch reset "(?|"`}, {"(?R", `recursion "(?R"`},
}

// nonRE2 names the first PCRE-only construct in pat, or returns "".
func nonRE2(pat string) string {
	inClass := false
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		switch {
		case c == '\\' && i+1 < len(pat):
			if w := escapeProblem(pat[i+1:], inClass); w != "" {
				return w
			}
			i++
		case inClass:
			inClass = c != ']'
		case c == '[':
			inClass = true
			rest := pat[i+1:]
			if strings.HasPrefix(rest, "]") || strings.HasPrefix(rest, "^]") {
				i += strings.IndexByte(pat[i+1:], ']') + 1
			}
		case c == '(':
			for _, g := range nonRE2Groups {
				if strings.HasPrefix(pat[i:], g.prefix) {
					return g.name
				}
			}
		case (c == '+' || c == '*' || c == '?' || c == '}') && i+1 < len(pat) &&
			pat[i+1] == '+' && i > 0:
			return `possessive quantifier "` + pat[i:i+2] + `"`
		}
	}
	return ""
}

func escapeProblem(rest string, inClass bool) string {
	c := rest[0]
	switch {
	case c >= '1' && c <= '9' && !inClass:
		return `backreference "\` + string(c) + `"`
	case c == 'k' || c == 'g':
		return `backreference "\` + string(c) + `"`
	case c == 'G' || c == 'K':
		return `escape "\` + string(c) + `"`
	case c == 'x' && len(rest) >= 3:
		d1, ok1 := hexDigit(rest[1])
		_, ok2 := hexDigit(rest[2])
		if ok1 && ok2 && d1 >= 8 {
			return `byte escape "\` + rest[:3] + `" above \x7f`
		}
	}
	return ""
}

// stripExtended removes the whitespace and #-comments that PCRE's x flag
// ignores, outside classes and escapes.
func stripExtended(pat string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		switch {
		case c == '\\' && i+1 < len(pat):
			b.WriteString(pat[i : i+2])
			i++
			continue
		case inClass:
			inClass = c != ']'
		case c == '[':
			inClass = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			continue
		case c == '#':
			for i < len(pat) && pat[i] != '\n' {
				i++
			}
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
