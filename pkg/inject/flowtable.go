package inject

import (
	"net/netip"
	"time"
)

// flowKey names a flow the same way from both directions.
type flowKey struct{ lo, hi netip.AddrPort }

func keyOf(a, b netip.AddrPort) flowKey {
	if a.Compare(b) > 0 {
		a, b = b, a
	}
	return flowKey{a, b}
}

type flowState uint8

const (
	statePending     flowState = iota + 1 // reset sent, awaiting quiet
	stateUnconfirmed                      // budget spent, still talking
)

// sentRST is what a flow remembers of a RST it sent, to never send it twice.
type sentRST struct {
	toHi       bool
	seq, ack   uint32
	flags      uint8
	registered bool
}

// flow is the state of one reset flow; a slot of flowTable's slab.
type flow struct {
	key        flowKey
	src, dst   netip.AddrPort // as the first trigger saw them
	entry      uint64
	last       time.Time // last trigger, RST or not, that moved the flow
	state      flowState
	frames     int       // RSTs sent
	answers    int       // later triggers answered with at least one RST
	answered   time.Time // last such answer
	echoes     int       // RSTs seen back on the mirror
	sent       [8]sentRST
	nsent      int
	late       bool // answered from a late trigger: probe it once quiet
	probed     bool // the quiet-flow ACK probe went out
	prev, next int32
}

// remember records seg as sent for f (the oldest record makes room).
func (f *flow) remember(s segment) {
	f.sent[f.nsent%len(f.sent)] = sentRST{toHi: s.dst == f.key.hi, seq: s.seq,
		ack: s.ack, flags: s.flags, registered: true}
	f.nsent++
}

// already reports whether f has sent a RST identical to s.
func (f *flow) already(s segment) bool {
	r := sentRST{toHi: s.dst == f.key.hi, seq: s.seq, ack: s.ack, flags: s.flags,
		registered: true}
	for _, x := range f.sent {
		if x == r {
			return true
		}
	}
	return false
}

// flowTable holds at most cap(slab) flows on a list ordered by last
// activity, most recent first, so both eviction and settling take from
// the tail.
type flowTable struct {
	idx        map[flowKey]int32
	slab       []flow
	free       []int32
	head, tail int32
}

const none int32 = -1

func newFlowTable(max int) *flowTable {
	ft := &flowTable{idx: make(map[flowKey]int32, min(max, 1024)),
		slab: make([]flow, max), free: make([]int32, max), head: none, tail: none}
	for i := range ft.free {
		ft.free[i] = int32(max - 1 - i)
	}
	return ft
}

func (ft *flowTable) len() int   { return len(ft.idx) }
func (ft *flowTable) full() bool { return len(ft.free) == 0 }

func (ft *flowTable) get(k flowKey) *flow {
	if i, ok := ft.idx[k]; ok {
		return &ft.slab[i]
	}
	return nil
}

// oldest returns the least recently active flow, or nil.
func (ft *flowTable) oldest() *flow {
	if ft.tail == none {
		return nil
	}
	return &ft.slab[ft.tail]
}

// add takes a free slot for k (the caller makes room first) at the head.
func (ft *flowTable) add(k flowKey) *flow {
	i := ft.free[len(ft.free)-1]
	ft.free = ft.free[:len(ft.free)-1]
	ft.idx[k] = i
	ft.slab[i] = flow{key: k, prev: none, next: none}
	ft.pushFront(i)
	return &ft.slab[i]
}

// touch moves f to the head: it is the most recently active.
func (ft *flowTable) touch(f *flow) {
	i := ft.idx[f.key]
	ft.unlink(i)
	ft.pushFront(i)
}

func (ft *flowTable) remove(f *flow) {
	i := ft.idx[f.key]
	ft.unlink(i)
	delete(ft.idx, f.key)
	ft.slab[i] = flow{}
	ft.free = append(ft.free, i)
}

func (ft *flowTable) pushFront(i int32) {
	f := &ft.slab[i]
	f.prev, f.next = none, ft.head
	if ft.head != none {
		ft.slab[ft.head].prev = i
	}
	ft.head = i
	if ft.tail == none {
		ft.tail = i
	}
}

func (ft *flowTable) unlink(i int32) {
	f := &ft.slab[i]
	if f.prev != none {
		ft.slab[f.prev].next = f.next
	} else {
		ft.head = f.next
	}
	if f.next != none {
		ft.slab[f.next].prev = f.prev
	} else {
		ft.tail = f.prev
	}
	f.prev, f.next = none, none
}
