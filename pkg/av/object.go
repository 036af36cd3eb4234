package av

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"math"
)

// maxPending bounds the anchor hits of one object that wait for more bytes.
const maxPending = 256

// object scans one object (a stream direction or an HTTP body): it feeds
// the hashes, runs the automaton and verifies anchor hits in a tail window.
type object struct {
	s        *Stream
	db       *DB
	name     string // "stream" or "http-body"
	start    int64  // offset of the object's first byte in the stream
	n        int64  // bytes written
	state    int32  // automaton state
	buf      []byte // tail window: object bytes from base on
	base     int64
	cur      int // index in buf of the bytes being scanned
	pend     []pendingHit
	prog     map[int32]progress
	done     map[int32]bool
	md5      hash.Hash
	sha1     hash.Hash
	sha256   hash.Hash
	hashing  bool
	scanning bool
	onAnchor func(id int32, end int)
}

// pendingHit is an anchor whose right side reaches past the bytes seen.
type pendingHit struct {
	ref  partRef
	end  int64 // object offset just past the anchor
	next int64 // retry once the object reaches this offset
}

// progress is how far a signature of several parts has matched.
type progress struct {
	next           int32 // part expected next
	start, prevEnd int64 // where part 0 began, where the last part ended
}

func newObject(s *Stream, name string, start int64) *object {
	db := s.db
	o := &object{s: s, db: db, name: name, start: start,
		scanning: db.ac != nil || len(db.eof) > 0,
		hashing:  db.nhash > 0 || s.opts.HashObjects}
	o.onAnchor = o.anchorHit
	if o.hashing {
		o.sha256 = sha256.New()
		if len(db.md5) > 0 {
			o.md5 = md5.New()
		}
		if len(db.sha1) > 0 {
			o.sha1 = sha1.New()
		}
	}
	return o
}

func (o *object) write(p []byte) {
	if len(p) == 0 {
		return
	}
	o.hash(p)
	if o.scanning {
		o.scan(p)
	}
	o.n += int64(len(p))
}

func (o *object) hash(p []byte) {
	if !o.hashing {
		return
	}
	if o.db.maxSize >= 0 && o.n+int64(len(p)) > o.db.maxSize && !o.s.opts.HashObjects {
		o.hashing = false // no hash signature is this large: nothing to lose
		return
	}
	if lim := o.s.opts.MaxHashBytes; lim >= 0 && o.n+int64(len(p)) > lim {
		o.hashing = false
		o.s.stats.HashSkipped++
		return
	}
	for _, h := range []hash.Hash{o.md5, o.sha1, o.sha256} {
		if h != nil {
			h.Write(p)
		}
	}
}

func (o *object) scan(p []byte) {
	if lim := o.s.opts.MaxScanBytes; lim >= 0 && o.n+int64(len(p)) > lim {
		p = p[:max(lim-o.n, 0)]
		o.scanning = false
		o.s.stats.ScanTruncated++
	}
	o.cur = len(o.buf)
	o.buf = append(o.buf, p...)
	o.retry(false)
	if o.db.ac != nil {
		o.state = o.db.ac.scan(o.state, p, o.onAnchor)
	}
	if w := max(o.db.window, 1); len(o.buf) > w {
		drop := len(o.buf) - w
		o.buf = o.buf[:copy(o.buf, o.buf[drop:])]
		o.base += int64(drop)
	}
}

func (o *object) anchorHit(id int32, end int) {
	for _, r := range o.db.refs[id] {
		if o.try(r, o.cur+end, false) == needMore {
			at := o.base + int64(o.cur+end)
			o.addPending(pendingHit{ref: r, end: at, next: o.retryAt(at)})
		}
	}
}

func (o *object) addPending(p pendingHit) {
	if len(o.pend) >= maxPending {
		o.s.stats.PendingDropped++
		return
	}
	o.pend = append(o.pend, p)
}

// retry re-verifies the pending hits that are due, or all of them at the
// end of the object.
func (o *object) retry(final bool) {
	keep := o.pend[:0]
	for _, p := range o.pend {
		if !final && o.base+int64(len(o.buf)) < p.next {
			keep = append(keep, p)
			continue
		}
		if o.try(p.ref, int(p.end-o.base), final) == needMore {
			p.next = o.retryAt(p.end)
			keep = append(keep, p)
		}
	}
	o.pend = keep
}

// retryAt is when a pending hit is next worth verifying: each time the
// bytes after its anchor have doubled. A flood of anchors that wait for
// bytes thus costs a logarithmic number of verifications each, not one
// per write, while a match is still reported soon after its last byte.
func (o *object) retryAt(anchorEnd int64) int64 {
	seen := o.base + int64(len(o.buf))
	return seen + max(seen-anchorEnd, 16)
}

// try verifies one part of one signature around its anchor, which ends at
// buf index end, and records progress or a hit.
func (o *object) try(r partRef, end int, final bool) result {
	sig := &o.db.body[r.sig]
	if o.done[r.sig] {
		return noMatch
	}
	pr, ok := o.prog[r.sig]
	if (r.part > 0 && (!ok || pr.next != r.part)) || (r.part == 0 && ok) {
		return noMatch
	}
	p := &sig.parts[r.part]
	lm := newMatcher(o.buf, true, true)
	if r.part > 0 {
		lm.lo = o.index(pr.prevEnd + int64(p.minGap))
	} else if sig.off == offAbs {
		lm.lo, lm.hi = o.index(sig.n), o.index(sig.n+sig.m)
	}
	start, res := lm.run(p.left, end-len(p.anchor))
	rm := newMatcher(o.buf, false, final)
	if res == matched {
		var stop int
		stop, res = rm.run(p.right, end)
		if res == matched {
			o.advance(r, sig, pr, o.base+int64(start), o.base+int64(stop))
		}
	}
	if lm.budget < 0 || rm.budget < 0 {
		o.s.stats.VerifyAborted++
	}
	return res
}

// index converts an object offset to a buf index, clamped to int range.
func (o *object) index(off int64) int {
	d := off - o.base
	return int(max(min(d, math.MaxInt32), math.MinInt32))
}

func (o *object) advance(r partRef, sig *bodySig, pr progress, start, end int64) {
	if r.part == 0 {
		pr.start = start
	}
	if int(r.part) == len(sig.parts)-1 {
		o.found(r.sig, pr.start)
		return
	}
	if o.prog == nil {
		o.prog = map[int32]progress{}
	}
	o.prog[r.sig] = progress{next: r.part + 1, start: pr.start, prevEnd: end}
}

func (o *object) found(sig int32, off int64) {
	if o.done == nil {
		o.done = map[int32]bool{}
	}
	o.done[sig] = true
	o.s.emit(Hit{Signature: o.db.body[sig].name, Kind: "body", Object: o.name,
		Offset: off, ObjectStart: o.start})
}

// close ends the object: last verifications, EOF-anchored signatures, and
// the hash lookups.
func (o *object) close() {
	o.s.stats.Objects++
	o.retry(true)
	if o.scanning { // a truncated object's end is not its EOF
		o.checkEOF()
	}
	if o.hashing {
		o.lookupHashes()
	}
}

func (o *object) checkEOF() {
	size := o.base + int64(len(o.buf))
	for _, id := range o.db.eof {
		sig := &o.db.body[id]
		at := size - sig.n
		if at < o.base || o.done[id] {
			continue
		}
		m := newMatcher(o.buf, false, true)
		if _, r := m.run(sig.parts[0].all, int(at-o.base)); r == matched {
			o.found(id, at)
		}
	}
}

func (o *object) lookupHashes() {
	sum := o.sha256.Sum(nil)
	hexsum := hex.EncodeToString(sum)
	for k := range o.s.hits { // body hits learn the hash of their object
		if h := &o.s.hits[k]; h.Object == o.name && h.ObjectStart == o.start {
			h.Hash = hexsum
		}
	}
	var names []string
	names = o.match(names, o.db.sha256[[32]byte(sum)])
	if o.md5 != nil {
		names = o.match(names, o.db.md5[[16]byte(o.md5.Sum(nil))])
	}
	if o.sha1 != nil {
		names = o.match(names, o.db.sha1[[20]byte(o.sha1.Sum(nil))])
	}
	for _, n := range names {
		o.s.emit(Hit{Signature: n, Kind: "hash", Object: o.name, Hash: hexsum,
			ObjectStart: o.start, Size: o.n})
	}
}

func (o *object) match(names []string, sigs []hashSig) []string {
	for _, h := range sigs {
		if h.size >= 0 && h.size != o.n {
			continue
		}
		dup := false
		for _, n := range names {
			dup = dup || n == h.name
		}
		if !dup {
			names = append(names, h.name)
		}
	}
	return names
}
