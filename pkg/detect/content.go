package detect

import (
	"regexp"
	"strings"
)

// bufKind names the buffer a content or pcre inspects.
type bufKind uint8

const (
	bufRaw bufKind = iota // packet payload or stream window
	bufURI
	bufRawURI
	bufMethod
	bufHeader
	bufRawHeader
	bufHost
	bufRawHost
	bufUA
	bufCookie
	bufStatCode
	bufClientBody
	bufFileData
	bufProtocol
	bufRequestLine
	bufResponseLine
	// header value buffers, in the order of headerSlotNames
	bufReferer
	bufAccept
	bufAcceptEnc
	bufAcceptLang
	bufContentType
	bufContentLen
	bufConnection
	bufServer
	bufLocation
	numBufs
)

// headerSlotNames are the headers kept for their own sticky buffers.
var headerSlotNames = [...]string{"referer", "accept", "accept-encoding", "accept-language",
	"content-type", "content-length", "connection", "server", "location"}

const numSlots = len(headerSlotNames)

var headerSlot = func() map[string]int {
	m := map[string]int{}
	for i, n := range headerSlotNames {
		m[n] = i
	}
	return m
}()

var bufNames = [numBufs]string{"pkt_data", "http.uri", "http.uri.raw", "http.method",
	"http.header", "http.header.raw", "http.host", "http.host.raw", "http.user_agent",
	"http.cookie", "http.stat_code", "http.request_body", "file_data", "http.protocol",
	"http.request_line", "http.response_line", "http.referer", "http.accept",
	"http.accept_enc", "http.accept_lang", "http.content_type", "http.content_len",
	"http.connection", "http.server", "http.location"}

var stickyBuffers = map[string]bufKind{
	"pkt_data": bufRaw, "http.uri": bufURI, "http.uri.raw": bufRawURI,
	"http.method": bufMethod, "http.header": bufHeader, "http.header.raw": bufRawHeader,
	"http.host": bufHost, "http.host.raw": bufRawHost, "http.user_agent": bufUA,
	"http.cookie": bufCookie, "http.stat_code": bufStatCode,
	"http.request_body": bufClientBody, "http.response_body": bufFileData,
	"file_data": bufFileData, "file.data": bufFileData,
	"http.protocol": bufProtocol, "http.request_line": bufRequestLine,
	"http.response_line": bufResponseLine, "http.referer": bufReferer,
	"http.accept": bufAccept, "http.accept_enc": bufAcceptEnc,
	"http.accept_lang": bufAcceptLang, "http.content_type": bufContentType,
	"http.content_len": bufContentLen, "http.connection": bufConnection,
	"http.server": bufServer, "http.location": bufLocation,
}

var legacyModifiers = map[string]bufKind{
	"http_uri": bufURI, "http_raw_uri": bufRawURI, "http_method": bufMethod,
	"http_header": bufHeader, "http_raw_header": bufRawHeader, "http_host": bufHost,
	"http_raw_host": bufRawHost, "http_user_agent": bufUA, "http_cookie": bufCookie,
	"http_stat_code": bufStatCode, "http_client_body": bufClientBody,
	"http_server_body": bufFileData,
}

// pcreBufFlags maps pcre modifier letters to the buffer they select.
var pcreBufFlags = map[byte]bufKind{
	'U': bufURI, 'I': bufRawURI, 'H': bufHeader, 'D': bufRawHeader, 'M': bufMethod,
	'C': bufCookie, 'P': bufClientBody, 'Q': bufFileData, 'W': bufHost, 'Z': bufRawHost,
	'V': bufUA, 'S': bufStatCode,
}

// item is one content or pcre match step.
type item struct {
	pat, low    []byte
	nocase      bool
	neg         bool
	isPCRE      bool
	test        byte       // 0 for content/pcre; 'i' isdataat; 's' buffer size
	size        *rangeCond // for test 's'
	re          *regexp.Regexp
	offset      int
	depth       int
	distance    int
	within      int
	hasOffset   bool
	hasDepth    bool
	hasDistance bool
	hasWithin   bool
	relative    bool
	startswith  bool
	endswith    bool
	fastPattern bool
	fpOff       int
	fpLen       int
	backtrack   bool // a later relative step depends on where this one matched
	buf         bufKind
}

// parseContent decodes a content value: optional '!', then a quoted string
// with |hex| runs and the escapes \" \; \: \\.
func parseContent(v string) ([]byte, bool, *RuleError) {
	v = strings.TrimSpace(v)
	neg := false
	if strings.HasPrefix(v, "!") {
		neg, v = true, strings.TrimSpace(v[1:])
	}
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, false, syntaxErr("content", "content must be a quoted string")
	}
	out, err := decodeContent(v[1 : len(v)-1])
	if err != nil {
		return nil, false, err
	}
	if len(out) == 0 {
		return nil, false, syntaxErr("content", "empty content")
	}
	return out, neg, nil
}

func decodeContent(s string) ([]byte, *RuleError) {
	out := make([]byte, 0, len(s))
	hex, nib, half := false, byte(0), false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '|':
			if hex && half {
				return nil, syntaxErr("content",
					"odd number of hex digits at %d", i)
			}
			hex = !hex
		case hex:
			if c == ' ' {
				continue
			}
			d, ok := hexDigit(c)
			if !ok {
				return nil, syntaxErr("content", "bad hex digit %q at %d", c, i)
			}
			if half {
				out = append(out, nib<<4|d)
			}
			nib, half = d, !half
		case c == '\\':
			if i+1 >= len(s) || !strings.ContainsRune(`";:\`, rune(s[i+1])) {
				return nil, syntaxErr("content", "bad escape at %d", i)
			}
			i++
			out = append(out, s[i])
		case c == '"' || c == ';':
			return nil, syntaxErr("content", "unescaped %q at %d", c, i)
		default:
			out = append(out, c)
		}
	}
	if hex {
		return nil, syntaxErr("content", "unterminated hex run")
	}
	return out, nil
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// foldTab maps ASCII upper case to lower case and every other byte to itself.
var foldTab = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if i >= 'A' && i <= 'Z' {
			t[i] = byte(i) + 32
		}
	}
	return t
}()

func lower(p []byte) []byte {
	out := make([]byte, len(p))
	for i, c := range p {
		out[i] = foldTab[c]
	}
	return out
}
