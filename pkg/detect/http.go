package detect

import (
	"bytes"
	"strconv"
)

// HTTP parser limits: longer lines end parsing of the direction; bodies
// are inspected up to bodyLimit bytes.
const (
	maxLine    = 16 << 10
	bodyLimit  = 64 << 10
	maxPending = 8
	// bodyStep is the growth after which a packet's body data is inspected
	// at once (the end of a body always is), so full-sized segments alert
	// on their own packet while a trickle of tiny segments cannot force a
	// rescan of the body each: at most bodyLimit/bodyStep+1 per message.
	bodyStep = 512
)

type evKind uint8

const (
	evReq evKind = iota
	evReqBody
	evResp
	evRespBody
)

type httpEvent struct {
	tx   *httpTx
	kind evKind
}

// httpTx is one request/response pair.
type httpTx struct {
	method, uri, rawURI    []byte
	host, rawHost, ua      []byte
	cookie                 []byte
	reqHeader, respHeader  []byte
	statCode               []byte
	reqBody, respBody      []byte
	decoded                []byte
	decodedFrom            int
	encoding               byte // 0, 'g' gzip, 'd' deflate
	connect, head, hasResp bool
	inspected              [2]int // body bytes seen by rules: request, response
	reqLine, respLine      []byte
	protocol               []byte
	slots                  [2][numSlots][]byte // header values: request, response
	alerted                []int32
}

func (tx *httpTx) reset() {
	old := *tx
	*tx = httpTx{
		method: tx.method[:0], uri: tx.uri[:0], rawURI: tx.rawURI[:0],
		host: tx.host[:0], rawHost: tx.rawHost[:0], ua: tx.ua[:0], cookie: tx.cookie[:0],
		reqHeader: tx.reqHeader[:0], respHeader: tx.respHeader[:0],
		statCode: tx.statCode[:0], reqBody: tx.reqBody[:0], respBody: tx.respBody[:0],
		decoded: tx.decoded[:0], alerted: tx.alerted[:0],
		reqLine: tx.reqLine[:0], respLine: tx.respLine[:0], protocol: tx.protocol[:0],
	}
	for d := range old.slots {
		for i := range old.slots[d] {
			tx.slots[d][i] = old.slots[d][i][:0]
		}
	}
}

const (
	stLine uint8 = iota
	stHeaders
	stBody
	stChunkSize
	stChunkData
	stChunkEnd
	stTrailers
	stBodyClose
	stDead
)

// httpDir is the parser of one direction.
type httpDir struct {
	state     uint8
	toServer  bool
	line      []byte
	remaining int64
	chunked   bool
	clen      int64
	tx        *httpTx
}

// httpState is the HTTP view of one flow.
type httpState struct {
	seen      bool // a valid request or status line was parsed
	req, resp httpDir
	pending   []*httpTx // requests still waiting for a response
	retired   []*httpTx // finished during this feed, reusable from the next
	free      []*httpTx
}

func (h *httpState) newTx() *httpTx {
	if n := len(h.free); n > 0 {
		tx := h.free[n-1]
		h.free = h.free[:n-1]
		tx.reset()
		return tx
	}
	return &httpTx{}
}

func (h *httpState) release(tx *httpTx) {
	if tx != nil {
		h.retired = append(h.retired, tx)
	}
}

func (h *httpState) recycle() {
	for _, tx := range h.retired {
		if len(h.free) < 4 {
			h.free = append(h.free, tx)
		}
	}
	h.retired = h.retired[:0]
}

// feed parses data of one direction and appends transaction events.
func (h *httpState) feed(toServer bool, data []byte, fin bool, evs []httpEvent) []httpEvent {
	d := &h.resp
	if toServer {
		d = &h.req
	}
	d.toServer = toServer
	h.recycle()
	for len(data) > 0 && d.state != stDead {
		var n int
		n, evs = h.step(d, data, evs)
		data = data[n:]
	}
	if fin && d.state == stHeaders {
		if len(d.line) > 0 {
			h.headerLine(d, d.line)
			d.line = d.line[:0]
		}
		evs = h.headersDone(d, evs)
	}
	if d.inBody() {
		b, _, dir := d.bodyOf()
		if fin && d.state == stBodyClose || len(*b)-d.tx.inspected[dir] >= bodyStep {
			evs = h.flushBody(d, evs)
		}
	}
	return evs
}

// step consumes some of data in the current state and returns how much.
func (h *httpState) step(d *httpDir, data []byte, evs []httpEvent) (int, []httpEvent) {
	switch d.state {
	case stBody, stChunkData, stBodyClose:
		n := len(data)
		if d.state != stBodyClose && int64(n) > d.remaining {
			n = int(d.remaining)
		}
		h.body(d, data[:n])
		d.remaining -= int64(n)
		if d.remaining == 0 && d.state != stBodyClose {
			if d.state == stBody {
				evs = h.flushBody(d, evs)
				h.txDone(d)
			} else {
				d.state = stChunkEnd
			}
		}
		return n, evs
	}
	line, n, ok := d.readLine(data)
	if !ok {
		return n, evs
	}
	return n, h.lineDone(d, line, evs)
}

// readLine returns a complete line (without CR LF) or buffers a partial one.
func (d *httpDir) readLine(data []byte) ([]byte, int, bool) {
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		if len(d.line)+len(data) > maxLine {
			d.state = stDead
		}
		d.line = append(d.line, data...)
		return nil, len(data), false
	}
	line := data[:i]
	if len(d.line) > 0 {
		d.line = append(d.line, line...)
		line = d.line
		d.line = d.line[:0]
	}
	return bytes.TrimSuffix(line, []byte{'\r'}), i + 1, true
}

func (h *httpState) lineDone(d *httpDir, line []byte, evs []httpEvent) []httpEvent {
	switch d.state {
	case stLine:
		if len(line) > 0 {
			h.startLine(d, line)
		}
	case stHeaders:
		if len(line) == 0 {
			return h.headersDone(d, evs)
		}
		h.headerLine(d, line)
	case stChunkSize:
		h.chunkSize(d, line)
	case stChunkEnd:
		d.state = stChunkSize
	case stTrailers:
		if len(line) == 0 {
			evs = h.flushBody(d, evs)
			h.txDone(d)
		}
	}
	return evs
}

func isToken(b []byte) bool {
	if len(b) == 0 || len(b) > 24 {
		return false
	}
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (h *httpState) startLine(d *httpDir, line []byte) {
	if d.toServer {
		h.requestLine(d, line)
	} else {
		h.statusLine(d, line)
	}
}

func (h *httpState) requestLine(d *httpDir, line []byte) {
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 || !isToken(line[:sp]) {
		d.state = stDead
		return
	}
	uri, proto := bytes.TrimLeft(line[sp+1:], " "), []byte(nil)
	if last := bytes.LastIndexByte(uri, ' '); last >= 0 &&
		bytes.HasPrefix(uri[last+1:], []byte("HTTP/")) {
		uri, proto = bytes.TrimRight(uri[:last], " "), uri[last+1:]
	} else if !h.seen {
		d.state = stDead // HTTP/0.9 or garbage: do not claim the flow
		return
	}
	if len(h.pending) >= maxPending {
		h.release(h.pending[0])
		h.pending = h.pending[1:]
	}
	tx := h.newTx()
	tx.method = append(tx.method, line[:sp]...)
	tx.rawURI = append(tx.rawURI, uri...)
	tx.uri = percentDecode(tx.uri, uri)
	tx.reqLine = append(tx.reqLine, line...)
	tx.protocol = append(tx.protocol, proto...)
	tx.connect = bytes.EqualFold(tx.method, []byte("CONNECT"))
	tx.head = bytes.EqualFold(tx.method, []byte("HEAD"))
	h.pending = append(h.pending, tx)
	h.seen = true
	d.tx, d.state, d.clen, d.chunked = tx, stHeaders, -1, false
}

func (h *httpState) statusLine(d *httpDir, line []byte) {
	if !bytes.HasPrefix(line, []byte("HTTP/")) {
		d.state = stDead
		return
	}
	_, rest, _ := bytes.Cut(line, []byte(" "))
	code, _, _ := bytes.Cut(bytes.TrimLeft(rest, " "), []byte(" "))
	if len(code) != 3 {
		d.state = stDead
		return
	}
	var tx *httpTx
	for _, p := range h.pending {
		if !p.hasResp {
			tx = p
			break
		}
	}
	if tx == nil {
		tx = h.newTx()
		h.pending = append(h.pending, tx)
	}
	tx.hasResp = true
	tx.statCode = append(tx.statCode[:0], code...)
	tx.respLine = append(tx.respLine[:0], line...)
	h.seen = true
	d.tx, d.state, d.clen, d.chunked = tx, stHeaders, -1, false
}

func (h *httpState) headerLine(d *httpDir, line []byte) {
	name, value, ok := bytes.Cut(line, []byte(":"))
	if !ok {
		return
	}
	name = bytes.TrimSpace(name)
	value = bytes.TrimSpace(value)
	tx := d.tx
	hdr := &tx.respHeader
	if d.toServer {
		hdr = &tx.reqHeader
	}
	*hdr = append(append(append(append(*hdr, name...), ": "...), value...), "\r\n"...)
	h.keepSlot(d, name, value)
	switch {
	case bytes.EqualFold(name, []byte("Content-Length")):
		if n, err := strconv.ParseInt(string(value), 10, 64); err == nil && n >= 0 {
			d.clen = n
		}
	case bytes.EqualFold(name, []byte("Transfer-Encoding")):
		d.chunked = bytes.Contains(bytes.ToLower(value), []byte("chunked"))
	case !d.toServer && bytes.EqualFold(name, []byte("Content-Encoding")):
		tx.encoding = encodingOf(value)
	case d.toServer && bytes.EqualFold(name, []byte("Host")):
		tx.rawHost = append(tx.rawHost[:0], value...)
		tx.host = normHost(tx.host[:0], value)
	case d.toServer && bytes.EqualFold(name, []byte("User-Agent")):
		tx.ua = append(tx.ua[:0], value...)
	case d.toServer && bytes.EqualFold(name, []byte("Cookie")):
		tx.cookie = append(tx.cookie[:0], value...)
	}
}

// keepSlot stores the value of a header that has its own sticky buffer.
func (h *httpState) keepSlot(d *httpDir, name, value []byte) {
	var low [24]byte
	if len(name) > len(low) {
		return
	}
	for i, c := range name {
		low[i] = foldTab[c]
	}
	i, ok := headerSlot[string(low[:len(name)])]
	if !ok {
		return
	}
	dir := 1
	if d.toServer {
		dir = 0
	}
	s := &d.tx.slots[dir][i]
	if len(*s) > 0 {
		*s = append(*s, ", "...)
	}
	*s = append(*s, value...)
}

func encodingOf(v []byte) byte {
	v = bytes.ToLower(v)
	switch {
	case bytes.Contains(v, []byte("gzip")):
		return 'g'
	case bytes.Contains(v, []byte("deflate")):
		return 'd'
	}
	return 0
}

func normHost(dst, v []byte) []byte {
	if i := bytes.LastIndexByte(v, ':'); i >= 0 && !bytes.HasSuffix(v, []byte("]")) {
		v = v[:i]
	}
	for _, c := range v {
		dst = append(dst, foldTab[c])
	}
	return dst
}

func (h *httpState) headersDone(d *httpDir, evs []httpEvent) []httpEvent {
	tx := d.tx
	if d.toServer {
		evs = append(evs, httpEvent{tx, evReq})
	} else {
		if tx.statCode[0] == '1' {
			tx.respHeader = tx.respHeader[:0]
			d.state = stLine
			return evs
		}
		evs = append(evs, httpEvent{tx, evResp})
	}
	switch {
	case !d.toServer && (tx.head || tx.statCode[0] == '3' && string(tx.statCode) == "304" ||
		string(tx.statCode) == "204"):
		h.txDone(d)
	case !d.toServer && tx.connect && tx.statCode[0] == '2':
		h.req.state, h.resp.state = stDead, stDead // a tunnel follows
	case d.chunked:
		d.state = stChunkSize
	case d.clen > 0:
		d.state, d.remaining = stBody, d.clen
	case !d.toServer && d.clen < 0:
		d.state = stBodyClose
	default:
		h.txDone(d)
	}
	return evs
}

func (h *httpState) chunkSize(d *httpDir, line []byte) {
	line, _, _ = bytes.Cut(line, []byte(";"))
	n, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
	switch {
	case err != nil || n < 0:
		d.state = stDead
	case n == 0:
		d.state = stTrailers
	default:
		d.state, d.remaining = stChunkData, n
	}
}

// body keeps up to bodyLimit bytes of a message body for inspection.
func (h *httpState) body(d *httpDir, data []byte) {
	b, _, _ := d.bodyOf()
	if room := bodyLimit - len(*b); room > 0 {
		*b = append(*b, data[:min(room, len(data))]...)
	}
}

func (d *httpDir) inBody() bool {
	switch d.state {
	case stBody, stChunkSize, stChunkData, stChunkEnd, stTrailers, stBodyClose:
		return d.tx != nil
	}
	return false
}

func (d *httpDir) bodyOf() (*[]byte, evKind, int) {
	if d.toServer {
		return &d.tx.reqBody, evReqBody, 0
	}
	return &d.tx.respBody, evRespBody, 1
}

// flushBody queues a body event when the body grew since rules last saw it.
func (h *httpState) flushBody(d *httpDir, evs []httpEvent) []httpEvent {
	b, kind, dir := d.bodyOf()
	tx := d.tx
	if len(*b) == tx.inspected[dir] {
		return evs
	}
	tx.inspected[dir] = len(*b)
	if n := len(evs); n == 0 || evs[n-1] != (httpEvent{tx, kind}) {
		evs = append(evs, httpEvent{tx, kind})
	}
	return evs
}

// txDone ends the message of d; a finished response retires its tx.
func (h *httpState) txDone(d *httpDir) {
	d.state = stLine
	if d.toServer {
		return
	}
	for i, p := range h.pending {
		if p == d.tx {
			h.pending = append(h.pending[:i], h.pending[i+1:]...)
			break
		}
	}
	h.release(d.tx)
	d.tx = nil
}

func percentDecode(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			a, ok1 := hexDigit(s[i+1])
			b, ok2 := hexDigit(s[i+2])
			if ok1 && ok2 {
				dst = append(dst, a<<4|b)
				i += 2
				continue
			}
		}
		dst = append(dst, s[i])
	}
	return dst
}
