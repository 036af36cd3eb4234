package detect

// chain is the ordered content/pcre steps of one rule in one buffer.
type chain struct {
	buf      bufKind
	items    []item
	anchored bool // some step is placed relative to the buffer start
	hasPos   bool // some step is a positive match
	posPCRE  bool // some positive step is a pcre
}

// rawMode says which raw buffer a rule's pkt_data chain inspects.
type rawMode uint8

const (
	modeNone       rawMode = iota // no raw chain
	modeStream                    // stream window when given, else payload
	modePacket                    // packet payload only
	modeStreamOnly                // stream window only
)

// fastPattern is the content the prefilter looks for.
type fastPattern struct {
	ok     bool
	buf    bufKind
	pat    []byte
	nocase bool
}

const maxPrefilterLen = 32

func (b *builder) finish() *RuleError {
	r := b.r
	if !b.hasSID {
		return syntaxErr("sid", "missing sid")
	}
	for _, it := range b.items {
		if err := checkItem(it); err != nil {
			return err
		}
	}
	b.buildChains()
	r.mode = rawModeOf(r)
	r.fp = pickFastPattern(r)
	r.bitsClass = bitsClass(r.bits)
	return nil
}

func checkItem(it *item) *RuleError {
	if it.isPCRE || it.test != 0 {
		return nil
	}
	kw := "content"
	n := len(it.pat)
	if it.startswith {
		if it.hasOffset || it.hasDepth || it.relative {
			return syntaxErr("startswith", "startswith cannot be combined with "+
				"offset, depth, distance or within")
		}
		it.depth, it.hasDepth = n, true
	}
	switch {
	case it.relative && (it.hasOffset || it.hasDepth):
		return syntaxErr(kw, "content mixes relative (distance/within) "+
			"and absolute (offset/depth) modifiers")
	case it.hasDepth && it.depth < n:
		return syntaxErr("depth", "depth %d is shorter than content length %d",
			it.depth, n)
	case it.hasWithin && it.within < n:
		return syntaxErr("within", "within %d is shorter than content length %d",
			it.within, n)
	}
	it.low = lower(it.pat)
	return nil
}

func (b *builder) buildChains() {
	r := b.r
	var byBuf [numBufs]*chain
	for _, it := range b.items {
		c := byBuf[it.buf]
		if c == nil {
			c = &chain{buf: it.buf}
			byBuf[it.buf] = c
		}
		c.items = append(c.items, *it)
	}
	for k, c := range byBuf {
		if c == nil {
			continue
		}
		markBacktrack(c)
		r.chains = append(r.chains, c)
		r.bufMask |= 1 << k
	}
}

// markBacktrack flags steps whose match position a later relative step
// depends on, and notes whether the chain is tied to the buffer start.
func markBacktrack(c *chain) {
	seenPos := false
	for i := range c.items {
		it := &c.items[i]
		if it.relative && !seenPos ||
			!it.relative && (it.hasOffset || it.hasDepth || it.test != 0) {
			c.anchored = true
		}
		if !it.neg && it.test == 0 {
			seenPos, c.hasPos = true, true
			c.posPCRE = c.posPCRE || it.isPCRE
		}
		for j := i + 1; j < len(c.items); j++ {
			if c.items[j].relative {
				it.backtrack = !it.neg
				break
			}
			if !c.items[j].neg && c.items[j].test != 's' {
				break
			}
		}
	}
}

func rawModeOf(r *Rule) rawMode {
	var raw *chain
	for _, c := range r.chains {
		if c.buf == bufRaw {
			raw = c
		}
	}
	switch {
	case raw == nil:
		return modeNone
	case r.Proto == ProtoTCPPkt || r.flow.noStream || r.dsize != nil:
		return modePacket
	case r.Proto == ProtoTCPStream || r.flow.onlyStream:
		return modeStreamOnly
	case raw.anchored:
		return modePacket
	}
	return modeStream
}

func pickFastPattern(r *Rule) fastPattern {
	var best *item
	for _, c := range r.chains {
		for i := range c.items {
			it := &c.items[i]
			if it.isPCRE || it.neg || it.test != 0 {
				continue
			}
			if it.fastPattern {
				best = it
				break
			}
			if best == nil || len(it.pat) > len(best.pat) && !best.fastPattern {
				best = it
			}
		}
	}
	if best == nil {
		return fastPattern{}
	}
	p := best.low
	if best.fpLen > 0 {
		p = p[best.fpOff : best.fpOff+best.fpLen]
	}
	if len(p) > maxPrefilterLen {
		p = p[:maxPrefilterLen]
	}
	return fastPattern{ok: true, buf: best.buf, pat: p, nocase: best.nocase}
}

// bitsClass orders flowbits users as Suricata does: rules that only write
// bits first, then rules that read and write, then readers, then the rest.
func bitsClass(ops []flowbitOp) int {
	read, write := false, false
	for _, op := range ops {
		switch op.cmd {
		case "isset", "isnotset":
			read = true
		default:
			write = true
		}
	}
	switch {
	case write && !read:
		return 0
	case write:
		return 1
	case read:
		return 2
	}
	return 3
}
