package detect

import "time"

// evalCtx is what one rule evaluation looks at.
type evalCtx struct {
	in   *Input
	fs   *FlowState
	now  time.Time
	ev   *httpEvent // nil for the packet phase
	sc   *scratch
	pass bool
	// txPacket: this packet completed an HTTP request or response header
	// block, so its alerts belong to that transaction for logging
	txPacket bool
}

// Inspect matches one packet and calls emit for each alert, in rule
// evaluation order. A matching pass rule suppresses every alert of the
// packet.
func (e *Engine) Inspect(in *Input, emit func(Alert)) {
	sc := e.pool.Get().(*scratch)
	defer e.pool.Put(sc)
	c := evalCtx{in: in, fs: in.Flow, now: e.clock(in), sc: sc}
	if c.fs == nil {
		sc.flow = FlowState{bits: sc.flow.bits[:0]}
		c.fs = &sc.flow
	}
	sc.alerts, sc.evs = sc.alerts[:0], sc.evs[:0]
	if e.rs.needHTTP {
		sc.evs = c.fs.http.feed(in.ToServer, newBytes(in), in.Flags&(FlagFIN|FlagRST) != 0,
			sc.evs)
	}
	for _, ev := range sc.evs {
		c.txPacket = c.txPacket || ev.kind == evReq || ev.kind == evResp
	}
	e.packetPhase(&c)
	for i := 0; i < len(sc.evs) && !c.pass; i++ {
		c.ev = &sc.evs[i]
		e.eventPhase(&c)
	}
	if !c.pass {
		for _, a := range sc.alerts {
			emit(a)
		}
	}
	clear(sc.evs) // drop tx pointers before pooling
	clear(sc.alerts)
}

func (e *Engine) clock(in *Input) time.Time {
	switch {
	case !in.Time.IsZero():
		return in.Time
	case e.opt.Now != nil:
		return e.opt.Now()
	}
	return time.Now()
}

func newBytes(in *Input) []byte {
	if in.Stream == nil {
		return in.Payload
	}
	n := min(max(in.NewData, 0), len(in.Stream))
	return in.Stream[len(in.Stream)-n:]
}

func (e *Engine) packetPhase(c *evalCtx) {
	sc := c.sc
	sc.cand = sc.cand[:0]
	in := c.in
	payload, stream := in.Payload, in.Stream
	// a content-only stream match has a positive content ending in the
	// new data, so scanning the new data (and a pattern's length before)
	// finds a candidate for every rule that can match
	n := min(max(in.NewData, 0), len(stream))
	if n > 0 && n >= len(payload) && sameTail(payload, stream) {
		payload = nil
	}
	e.collectRaw(c, payload, stream, n)
	if e.full.ac != nil || len(e.full.always) > 0 {
		e.collectFull(c, payload, stream)
	}
	e.run(c, sc.ordered())
}

func (e *Engine) eventPhase(c *evalCtx) {
	sc := c.sc
	sc.cand = sc.cand[:0]
	for _, i := range e.httpA {
		sc.add(i)
	}
	for k := range e.http {
		if p := &e.http[k]; p.ac != nil {
			if b, ok := c.httpBuf(bufKind(k)); ok {
				sc.collect(p, b)
			}
		}
	}
	e.run(c, sc.ordered())
}

func (e *Engine) run(c *evalCtx, cand []int32) {
	for _, i := range cand {
		r := e.rs.Rules[i]
		if c.ev != nil && (!eligible(r, c.ev.kind) || c.ev.tx.fired(i)) {
			continue
		}
		if !e.match(r, c) {
			continue
		}
		if c.ev != nil {
			c.ev.tx.alerted = append(c.ev.tx.alerted, i)
		}
		if e.fire(r, c) {
			return
		}
	}
}

func (tx *httpTx) fired(i int32) bool {
	for _, j := range tx.alerted {
		if i == j {
			return true
		}
	}
	return false
}

// Buffer groups deciding on which HTTP events a rule is evaluated.
const (
	maskBody     = 1<<bufClientBody | 1<<bufFileData
	maskRespOnly = 1<<bufStatCode | 1<<bufResponseLine | 1<<bufServer | 1<<bufLocation
	maskRespHdr  = maskRespOnly | 1<<bufHeader | 1<<bufRawHeader | 1<<bufContentType |
		1<<bufContentLen | 1<<bufConnection
)

func eligible(r *Rule, k evKind) bool {
	m := r.bufMask
	switch k {
	case evReq:
		return m&(maskBody|maskRespOnly) == 0
	case evReqBody:
		return m&maskBody != 0 && m&maskRespOnly == 0
	case evResp:
		return m&maskRespHdr != 0 && m&maskBody == 0
	}
	return m&(1<<bufFileData) != 0 && m&(1<<bufClientBody) == 0
}

// match runs every test of r, cheapest first.
func (e *Engine) match(r *Rule, c *evalCtx) bool {
	in := c.in
	isHTTP := c.fs.http.seen
	if (r.Proto == ProtoHTTP || r.appProto > 0) && !isHTTP || r.appProto < 0 && isHTTP ||
		!r.addrMatch(in) {
		return false
	}
	f := &r.flow
	if f.established && !in.Established || f.notEstablished && in.Established ||
		f.toServer && !in.ToServer || f.toClient && in.ToServer {
		return false
	}
	if r.flags != nil && !r.flags.match(in.Flags) ||
		r.dsize != nil && !r.dsize.match(len(in.Payload)) {
		return false
	}
	if !bitsMatch(r, c.fs) {
		return false
	}
	for _, ch := range r.chains {
		buf, minEnd, ok := c.buffer(r, ch)
		if !ok || !matchChain(ch, buf, minEnd) {
			return false
		}
	}
	return true
}

func (r *Rule) addrMatch(in *Input) bool {
	s, d := in.Src, in.Dst
	if r.src.match(s.Addr()) && r.srcPort.match(s.Port()) &&
		r.dst.match(d.Addr()) && r.dstPort.match(d.Port()) {
		return true
	}
	return r.bidir && r.src.match(d.Addr()) && r.srcPort.match(d.Port()) &&
		r.dst.match(s.Addr()) && r.dstPort.match(s.Port())
}

// buffer picks the bytes a chain inspects and the stream end constraint.
func (c *evalCtx) buffer(r *Rule, ch *chain) ([]byte, int, bool) {
	if ch.buf != bufRaw {
		if c.ev == nil {
			return nil, 0, false
		}
		b, ok := c.httpBuf(ch.buf)
		return b, 0, ok
	}
	in := c.in
	n := min(max(in.NewData, 0), len(in.Stream))
	if r.mode == modePacket || n == 0 {
		return in.Payload, 0, len(in.Payload) > 0
	}
	minEnd := 0
	if ch.hasPos {
		minEnd = len(in.Stream) - n + 1
	}
	return in.Stream, minEnd, true
}

// httpBuf returns buffer k of the current transaction event and whether
// the transaction has it.
func (c *evalCtx) httpBuf(k bufKind) ([]byte, bool) {
	tx := c.ev.tx
	resp := c.ev.kind >= evResp
	switch k {
	case bufHeader, bufRawHeader:
		if resp {
			return tx.respHeader, true
		}
		return tx.reqHeader, len(tx.method) > 0
	case bufStatCode:
		return tx.statCode, resp
	case bufResponseLine:
		return tx.respLine, resp
	case bufClientBody:
		b := tx.reqBody[:tx.inspected[0]]
		return b, !resp && len(b) > 0
	case bufContentType, bufContentLen, bufConnection, bufServer, bufLocation:
		dir := 0
		if resp {
			dir = 1
		}
		b := tx.slots[dir][k-bufReferer]
		return b, len(b) > 0
	case bufFileData:
		if resp {
			b := tx.responseBody()
			return b, len(b) > 0
		}
		b := tx.reqBody[:tx.inspected[0]]
		return b, len(b) > 0
	}
	return tx.requestBuf(k)
}

// requestBuf returns the buffers that come from the request alone.
func (tx *httpTx) requestBuf(k bufKind) ([]byte, bool) {
	switch k {
	case bufURI:
		return tx.uri, len(tx.method) > 0
	case bufRawURI:
		return tx.rawURI, len(tx.method) > 0
	case bufMethod:
		return tx.method, len(tx.method) > 0
	case bufHost:
		return tx.host, len(tx.rawHost) > 0
	case bufRawHost:
		return tx.rawHost, len(tx.rawHost) > 0
	case bufUA:
		return tx.ua, len(tx.ua) > 0
	case bufCookie:
		return tx.cookie, len(tx.cookie) > 0
	case bufRequestLine:
		return tx.reqLine, len(tx.method) > 0
	case bufProtocol:
		return tx.protocol, len(tx.protocol) > 0
	case bufReferer, bufAccept, bufAcceptEnc, bufAcceptLang:
		b := tx.slots[0][k-bufReferer]
		return b, len(b) > 0
	}
	return nil, false
}

func suppressed(r *Rule, in *Input) bool {
	for _, s := range r.suppress {
		if s.match(in) {
			return true
		}
	}
	return false
}

func bitsMatch(r *Rule, fs *FlowState) bool {
	for i := range r.bits {
		op := &r.bits[i]
		switch op.cmd {
		case "isset":
			if !anyBit(fs, op.ids, true) {
				return false
			}
		case "isnotset":
			if !anyBit(fs, op.ids, false) {
				return false
			}
		}
	}
	return true
}

func anyBit(fs *FlowState, ids []int, want bool) bool {
	for _, id := range ids {
		if fs.bit(id) == want {
			return true
		}
	}
	return false
}

// fire applies a match's side effects and queues its alert; it returns
// true when a pass rule ends the packet's inspection.
func (e *Engine) fire(r *Rule, c *evalCtx) bool {
	for i := range r.bits {
		op := &r.bits[i]
		switch op.cmd {
		case "set":
			c.fs.setBit(op.ids[0], true)
		case "unset":
			c.fs.setBit(op.ids[0], false)
		case "toggle":
			c.fs.setBit(op.ids[0], !c.fs.bit(op.ids[0]))
		}
	}
	if r.Action == ActionPass {
		c.pass = true
		return true
	}
	if r.noalert || suppressed(r, c.in) || r.filter != nil && !e.limit(r.filter, r, c) ||
		r.threshold != nil && !e.limit(r.threshold, r, c) {
		return false
	}
	in := c.in
	c.sc.alerts = append(c.sc.alerts, Alert{Rule: r, Time: c.now, Src: in.Src, Dst: in.Dst,
		ToServer: in.ToServer, HTTP: c.ev != nil || c.txPacket})
	return false
}
