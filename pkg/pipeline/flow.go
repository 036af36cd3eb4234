package pipeline

import (
	"net/netip"
	"time"
)

// State is the TCP connection state of a flow as seen from the mirror.
type State uint8

// Flow states, in the order a normal connection passes through them.
const (
	StateNone        State = iota // no handshake seen (and no midstream pickup)
	StateSynSent                  // SYN seen
	StateSynRecv                  // SYN-ACK seen
	StateEstablished              // 3-way handshake completed or midstream pickup
	StateClosing                  // FIN seen
	StateClosed                   // RST, or FIN from both sides
)

var stateNames = [...]string{"none", "syn-sent", "syn-recv", "established", "closing", "closed"}

// String returns the name of s.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Key identifies a flow independent of direction: the lower endpoint first.
type Key struct {
	A, B netip.AddrPort
}

// MakeKey returns the direction-independent key of the segment src -> dst.
func MakeKey(src, dst netip.AddrPort) Key {
	if lessAddrPort(dst, src) {
		return Key{A: dst, B: src}
	}
	return Key{A: src, B: dst}
}

func lessAddrPort(x, y netip.AddrPort) bool {
	if c := x.Addr().Compare(y.Addr()); c != 0 {
		return c < 0
	}
	return x.Port() < y.Port()
}

// Hash returns a hash of k that both directions of a flow share; workers
// are chosen by it.
func (k Key) Hash() uint64 {
	h := uint64(14695981039346656037)
	h = fnvAddrPort(h, k.A)
	return fnvAddrPort(h, k.B)
}

func fnvAddrPort(h uint64, ap netip.AddrPort) uint64 {
	b := ap.Addr().As16()
	for _, c := range b {
		h = (h ^ uint64(c)) * 1099511628211
	}
	h = (h ^ uint64(ap.Port()>>8)) * 1099511628211
	return (h ^ uint64(ap.Port()&0xff)) * 1099511628211
}

// Direction indexes per-direction data of a flow.
const (
	ToServer = 0
	ToClient = 1
)

// Flow is one TCP conversation. A Flow belongs to one worker and must not
// be kept by an Inspector after its FlowEnd: the worker reuses it.
type Flow struct {
	ID        uint64
	Key       Key
	Client    netip.AddrPort // initiator (SYN sender) or, midstream, the guess
	Server    netip.AddrPort
	State     State
	Midstream bool // picked up without a handshake
	Start     time.Time
	Last      time.Time
	Pkts      [2]uint64 // by direction: ToServer, ToClient
	Bytes     [2]uint64 // payload bytes on the wire, by direction
	Ext       any       // detector state; the worker never touches it
	Bypassed  bool      // the consumer asked the kernel to stop mirroring its payload
	Blocked   uint64    // block entry the consumer reset the flow under; 0 for none

	established bool // handshake completed or midstream pickup; stays set
	dir         [2]stream
	isn         [2]uint32 // SYN sequence number per direction
	synLen      [2]int    // payload bytes on the SYN (TCP Fast Open)
	synSeen     [2]bool
	finSeen     [2]bool
	synAckFrom  int8 // direction that sent the SYN-ACK, -1 none
	lastIndex   int  // capture packet number of the latest packet
	prev, next  *Flow
}

// Established reports whether the flow completed its handshake or was
// picked up midstream; like Suricata's flow:established it stays true
// while the connection closes.
func (f *Flow) Established() bool { return f.established }

// flowTable is one worker's bounded flow table with an LRU list ordered by
// last packet time.
type flowTable struct {
	m          map[Key]*Flow
	head, tail *Flow // head is the least recently seen
	max        int
	free       []*Flow
	nextID     uint64
}

func newFlowTable(max int, idBase uint64) *flowTable {
	return &flowTable{m: make(map[Key]*Flow, min(max, 1<<16)), max: max, nextID: idBase}
}

func (t *flowTable) get(k Key) *Flow { return t.m[k] }

// add inserts a fresh flow for k; the caller evicts first when full.
func (t *flowTable) add(k Key, now time.Time) *Flow {
	var f *Flow
	if n := len(t.free); n > 0 {
		f, t.free = t.free[n-1], t.free[:n-1]
	} else {
		f = new(Flow)
	}
	bufs := [2][]byte{reuse(f.dir[0].buf), reuse(f.dir[1].buf)}
	*f = Flow{Key: k, Start: now, Last: now, synAckFrom: -1}
	f.dir[0].buf, f.dir[1].buf = bufs[0], bufs[1]
	t.nextID++
	f.ID = t.nextID
	t.m[k] = f
	t.pushBack(f)
	return f
}

// reuse keeps a stream buffer of a freed flow unless it grew large.
func reuse(b []byte) []byte {
	if cap(b) > 64<<10 {
		return nil
	}
	return b[:0]
}

// remove takes f out of the table and keeps it for reuse.
func (t *flowTable) remove(f *Flow) {
	delete(t.m, f.Key)
	t.unlink(f)
	f.Ext = nil
	t.free = append(t.free, f)
}

func (t *flowTable) full() bool { return len(t.m) >= t.max }

// touch moves f to the most recently seen end of the LRU list.
func (t *flowTable) touch(f *Flow) {
	if t.tail == f {
		return
	}
	t.unlink(f)
	t.pushBack(f)
}

func (t *flowTable) pushBack(f *Flow) {
	f.prev, f.next = t.tail, nil
	if t.tail != nil {
		t.tail.next = f
	} else {
		t.head = f
	}
	t.tail = f
}

func (t *flowTable) unlink(f *Flow) {
	if f.prev != nil {
		f.prev.next = f.next
	} else {
		t.head = f.next
	}
	if f.next != nil {
		f.next.prev = f.prev
	} else {
		t.tail = f.prev
	}
	f.prev, f.next = nil, nil
}
