package av

import (
	"bytes"
	"strconv"
	"strings"
)

// Limits of the HTTP/1.x framing parser.
const (
	maxLineBytes   = 8 << 10
	maxHeaderBytes = 64 << 10
	maxBlankLines  = 16 // blank lines tolerated between messages
)

type httpState uint8

const (
	hStart     httpState = iota // before a start line
	hHeaders                    // reading header lines
	hBodyLen                    // Content-Length body
	hChunkSize                  // chunk-size line
	hChunkData                  // chunk data
	hChunkEnd                   // the line break after chunk data
	hTrailer                    // trailer lines after the last chunk
	hBodyClose                  // body until the connection ends
	hDead                       // not HTTP, or framing given up
)

// httpParser finds HTTP/1.x messages in one direction and feeds their
// bodies, de-chunked and decoded, to "http-body" objects. It is lenient
// the way browsers are: bare LF line ends, blank lines between messages,
// chunked winning over Content-Length, chunk extensions, a missing CRLF
// after chunk data.
type httpParser struct {
	s       *Stream
	st      httpState
	seen    bool // a valid start line was seen: later garbage is an error
	line    []byte
	hdr     int   // header bytes of the current message
	blank   int   // blank lines before the current start line
	off     int64 // stream offset of the next byte
	next    int64 // stream offset just past the line being handled
	remain  int64 // bytes left in a Content-Length body or chunk
	msg     httpMsg
	body    *bodySink
	peer    *httpParser // the response side, told each request's method
	method  []string    // methods of requests not yet answered, oldest first
	fold    string      // name of the last header, which folded lines extend
	foldVal string
}

// httpMsg is what the headers of one message say about its body.
type httpMsg struct {
	resp     bool
	status   int
	clen     int64 // -1: none
	te       bool  // Transfer-Encoding present
	chunked  bool
	codings  []string
	upgraded bool
	method   string // request method (for a response: of its request, if known)
}

func newHTTPParser(s *Stream) *httpParser { return &httpParser{s: s} }

func (h *httpParser) write(p []byte) {
	for len(p) > 0 && h.st != hDead {
		n := h.step(p)
		h.off += int64(n)
		p = p[n:]
	}
}

// step consumes a prefix of p in the current state and returns its length.
func (h *httpParser) step(p []byte) int {
	switch h.st {
	case hBodyLen, hChunkData:
		n := int(min(h.remain, int64(len(p))))
		h.body.write(p[:n])
		if h.remain -= int64(n); h.remain == 0 {
			h.bodyPartDone()
		}
		return n
	case hBodyClose:
		h.body.write(p)
		return len(p)
	}
	return h.lineStep(p)
}

// lineStep gathers one line (up to LF) and handles it when complete.
func (h *httpParser) lineStep(p []byte) int {
	i := bytes.IndexByte(p, '\n')
	n := i + 1
	if i < 0 {
		n = len(p)
	}
	if len(h.line)+n > maxLineBytes {
		h.fail()
		return n
	}
	h.line = append(h.line, p[:n]...)
	h.next = h.off + int64(n)
	if i >= 0 {
		line := bytes.TrimRight(h.line, "\r\n")
		h.handleLine(line, len(h.line))
		h.line = h.line[:0]
	}
	return n
}

func (h *httpParser) fail() {
	if h.seen {
		h.s.stats.HTTPErrors++
	}
	h.endBody()
	h.st = hDead
}

func (h *httpParser) handleLine(line []byte, raw int) {
	switch h.st {
	case hStart:
		h.startLine(line)
	case hHeaders:
		h.headerLine(line, raw)
	case hChunkEnd:
		if len(line) == 0 {
			h.st = hChunkSize
			return
		}
		h.chunkSize(line) // data was not followed by CRLF: browsers go on
	case hChunkSize:
		h.chunkSize(line)
	case hTrailer:
		if len(line) == 0 {
			h.endBody()
			h.st = hStart
		}
	}
}

func (h *httpParser) startLine(line []byte) {
	if len(line) == 0 {
		if h.blank++; h.blank > maxBlankLines {
			h.fail()
		}
		return
	}
	h.blank = 0
	m, ok := parseStartLine(string(line))
	if !ok {
		h.fail()
		return
	}
	if !h.seen {
		h.s.raw.hashing = false // headers and all: a hash no file can have
	}
	h.msg, h.seen, h.hdr, h.st = m, true, 0, hHeaders
	if !m.resp && h.peer != nil && len(h.peer.method) < maxMethods {
		h.peer.method = append(h.peer.method, m.method)
	}
	if m.resp && m.status >= 200 && len(h.method) > 0 {
		h.msg.method, h.method = h.method[0], h.method[1:]
	}
}

// maxMethods bounds the requests remembered for a linked response side.
const maxMethods = 64

// parseStartLine accepts "HTTP/1.x CODE ..." and "METHOD TARGET HTTP/1.x".
func parseStartLine(l string) (httpMsg, bool) {
	m := httpMsg{clen: -1}
	f := strings.Fields(l)
	if len(f) >= 2 && strings.HasPrefix(f[0], "HTTP/") {
		code, err := strconv.Atoi(f[1])
		m.resp, m.status = true, code
		return m, err == nil && code >= 100 && code <= 999
	}
	if len(f) == 3 && strings.HasPrefix(f[2], "HTTP/") && isToken(f[0]) {
		m.method = f[0]
		return m, true
	}
	return m, false
}

func isToken(s string) bool {
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return s != ""
}

func (h *httpParser) headerLine(line []byte, raw int) {
	if h.hdr += raw; h.hdr > maxHeaderBytes {
		h.fail()
		return
	}
	if len(line) == 0 {
		h.flushHeader()
		h.headersDone()
		return
	}
	if line[0] == ' ' || line[0] == '\t' { // obs-fold: continues the last value
		if h.fold != "" {
			h.foldVal += " " + strings.TrimSpace(string(line))
		}
		return
	}
	h.flushHeader()
	name, val, ok := strings.Cut(string(line), ":")
	if ok && name != "" {
		h.fold, h.foldVal = name, val
	}
}

// flushHeader applies the header held back in case folded lines follow.
func (h *httpParser) flushHeader() {
	if h.fold != "" {
		h.msg.header(strings.ToLower(strings.TrimSpace(h.fold)), strings.TrimSpace(h.foldVal))
	}
	h.fold, h.foldVal = "", ""
}

func (m *httpMsg) header(name, val string) {
	switch name {
	case "content-length":
		if n, err := strconv.ParseInt(val, 10, 64); err == nil && n >= 0 && m.clen < 0 {
			m.clen = n
		}
	case "transfer-encoding":
		m.te = true
		for _, c := range strings.Split(strings.ToLower(val), ",") {
			m.chunked = m.chunked || strings.TrimSpace(c) == "chunked"
		}
	case "content-encoding":
		for _, c := range strings.Split(strings.ToLower(val), ",") {
			if c = strings.TrimSpace(c); c != "" && c != "identity" {
				m.codings = append(m.codings, c)
			}
		}
	case "upgrade":
		m.upgraded = true
	}
}

// headersDone decides how the body is framed (RFC 9112 section 6.3).
func (h *httpParser) headersDone() {
	m := &h.msg
	switch {
	case m.resp && m.status == 101:
		h.st = hDead // the rest is another protocol
	case m.resp && m.method == "CONNECT" && m.status < 300:
		h.st = hDead // a tunnel follows
	case m.resp && (m.status < 200 || m.status == 204 || m.status == 304 ||
		m.method == "HEAD"):
		h.st = hStart
	case m.chunked:
		h.startBody(hChunkSize)
	case m.te && !m.resp:
		h.fail()
	case m.te || (m.resp && m.clen < 0):
		h.startBody(hBodyClose)
	case m.clen > 0:
		h.remain = m.clen
		h.startBody(hBodyLen)
	default:
		h.st = hStart
	}
}

func (h *httpParser) startBody(st httpState) {
	codings := h.msg.codings
	if len(codings) > maxLayers {
		codings = codings[len(codings)-maxLayers:]
	}
	h.body = newBodySink(h.s, h.next, codings)
	h.st = st
}

func (h *httpParser) bodyPartDone() {
	if h.st == hChunkData {
		h.st = hChunkEnd
		return
	}
	h.endBody()
	h.st = hStart
}

func (h *httpParser) chunkSize(line []byte) {
	s := strings.TrimLeft(string(line), " \t")
	if i := strings.IndexAny(s, "; \t"); i >= 0 {
		s = s[:i]
	}
	n, err := strconv.ParseInt(s, 16, 64)
	switch {
	case err != nil || n < 0:
		h.fail()
	case n == 0:
		h.st = hTrailer
	default:
		h.remain, h.st = n, hChunkData
	}
}

func (h *httpParser) endBody() {
	if h.body != nil {
		h.body.close()
		h.body = nil
	}
}

// close ends the stream: a body delimited by the close, or one cut short,
// ends here.
func (h *httpParser) close() { h.endBody() }

// bodySink is one HTTP body: decoded if it has content codings, then
// scanned and hashed as an object.
type bodySink struct {
	obj *object
	dec *decoder
	s   *Stream
}

func newBodySink(s *Stream, start int64, codings []string) *bodySink {
	b := &bodySink{obj: newObject(s, "http-body", start), s: s}
	if len(codings) > 0 {
		b.dec = newDecoder(codings, b.obj, s.opts.MaxDecodedBytes)
	}
	return b
}

func (b *bodySink) write(p []byte) {
	if b.dec != nil {
		b.dec.write(p)
		return
	}
	b.obj.write(p)
}

func (b *bodySink) close() {
	if b.dec != nil {
		b.dec.close()
		if b.dec.err != nil {
			b.s.stats.DecodeErrors++
		}
		if b.dec.cut {
			b.s.stats.DecodeTruncated++
		}
	}
	b.obj.close()
}
