package pipeline

import (
	"net/netip"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Config sets the limits of the pipeline. Zero fields take defaults.
// Memory per worker is bounded by MaxFlows times two stream buffers (about
// 2*StreamContext plus the largest single delivery each), plus
// ReasmMemcap of held out-of-order bytes.
type Config struct {
	Workers       int           // goroutines, each with its own flow table
	MaxFlows      int           // flows per worker before the oldest is evicted
	Midstream     bool          // pick up flows without a handshake as established
	StreamContext int           // bytes of earlier stream delivered with new data
	MaxHeldBytes  int           // out-of-order bytes held per direction
	MaxHeldSegs   int           // out-of-order segments held per direction
	ReasmMemcap   int           // out-of-order bytes held per worker
	TimeoutNew    time.Duration // idle timeout before the handshake completes
	TimeoutEst    time.Duration // idle timeout of established flows
	TimeoutClosed time.Duration // idle timeout after RST or both FINs
	SweepInterval time.Duration // how often idle flows are looked for
}

// withDefaults fills zero fields.
func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Workers, 1)
	def(&c.MaxFlows, 1<<16)
	def(&c.StreamContext, 4096)
	def(&c.MaxHeldBytes, 256<<10)
	def(&c.MaxHeldSegs, 256)
	def(&c.ReasmMemcap, 64<<20)
	defd(&c.TimeoutNew, 30*time.Second)
	defd(&c.TimeoutEst, 10*time.Minute)
	defd(&c.TimeoutClosed, 10*time.Second)
	defd(&c.SweepInterval, time.Second)
	return c
}

// Event is what an Inspector sees for each TCP packet, and for the bytes
// flushed out of reassembly when a flow ends (Packet is nil then). Every
// slice in it is valid only during the Inspect call.
type Event struct {
	Flow   *Flow
	Packet *Packet // nil for a flush at flow end
	// Index is the packet number in the capture (0 when live); a flush at
	// flow end carries the number of the flow's last packet.
	Index       int
	Time        time.Time
	Src, Dst    netip.AddrPort
	ToServer    bool
	Established bool
	// Stream holds this direction's in-order bytes ending with the new data
	// this packet delivered, preceded by up to StreamContext earlier bytes.
	// Without a reassembled stream (no handshake, no midstream pickup) it
	// is the packet payload.
	Stream  []byte
	NewData int // trailing bytes of Stream that are new
	// StreamEnd is the offset of the end of Stream in all the bytes this
	// direction delivered (it only grows during the flow); 0 when Stream
	// is not reassembled.
	StreamEnd uint64
	// Gap reports bytes of this direction lost while this packet was
	// handled (before, inside or, for a truncated snapshot, after its new
	// data). Stream never offers bytes from before a gap as context.
	Gap bool
}

// Payload returns the captured TCP payload of the packet, nil for a flush.
func (e *Event) Payload() []byte {
	if e.Packet == nil {
		return nil
	}
	return e.Packet.Payload
}

// Flags returns the TCP flags of the packet, 0 for a flush.
func (e *Event) Flags() uint8 {
	if e.Packet == nil {
		return 0
	}
	return e.Packet.Flags
}

// Inspector consumes a worker's events. Each worker calls its Inspector
// from one goroutine; both directions of a flow go to the same one.
type Inspector interface {
	Inspect(ev *Event)
	FlowEnd(f *Flow)
}

// Worker owns one shard: a flow table, its streams and counters. Its
// methods must be called from a single goroutine.
type Worker struct {
	cfg   Config
	insp  Inspector
	flows *flowTable
	re    reasm
	st    counters
	pkt   Packet
	ev    Event
	clock time.Time
	swept time.Time
}

// NewWorker returns a worker feeding insp; shard makes flow IDs unique
// across workers.
func NewWorker(cfg Config, shard int, insp Inspector) *Worker {
	cfg = cfg.withDefaults()
	w := &Worker{cfg: cfg, insp: insp}
	w.flows = newFlowTable(cfg.MaxFlows, uint64(shard)<<48)
	w.re = reasm{
		ctx: cfg.StreamContext, maxHeld: cfg.MaxHeldBytes, maxSegs: cfg.MaxHeldSegs,
		memcap: cfg.ReasmMemcap, stats: &w.st, compactAt: 2 * cfg.StreamContext,
	}
	return w
}

// HandleFrame decodes one frame and runs it through the flow table,
// reassembly and the Inspector. origLen is the frame length on the wire;
// truncated snapshots are accepted. index is the capture packet number.
func (w *Worker) HandleFrame(lt layers.LinkType, data []byte, origLen int, t time.Time,
	index int) {
	w.st.packets.Add(1)
	w.st.bytes.Add(uint64(origLen))
	w.Tick(t)
	if r := Decode(lt, data, &w.pkt); r != ReasonOK {
		w.st.decode[r].Add(1)
		return
	}
	w.st.tcp.Add(1)
	w.handle(&w.pkt, t, index)
}

// Tick advances the worker's clock to now (never backwards) and expires
// idle flows when a sweep is due. Live sources call it when idle.
func (w *Worker) Tick(now time.Time) {
	if now.After(w.clock) {
		w.clock = now
	}
	if w.clock.Sub(w.swept) >= w.cfg.SweepInterval {
		w.swept = w.clock
		w.sweep()
	}
}

// Close ends every flow, flushing held stream bytes to the Inspector.
func (w *Worker) Close() {
	for w.flows.head != nil {
		w.end(w.flows.head, &w.st.endShutdown)
	}
}

// Flows returns the number of flows in the table.
func (w *Worker) Flows() int { return len(w.flows.m) }

func (w *Worker) handle(p *Packet, t time.Time, index int) {
	src, dst := p.SrcAddrPort(), p.DstAddrPort()
	k := MakeKey(src, dst)
	f := w.flows.get(k)
	if f != nil && reopens(f, p, src) {
		w.end(f, &w.st.endReuse)
		f = nil
	}
	if f == nil {
		f = w.newFlow(k, p, src, dst)
	}
	d := ToServer
	if src != f.Client {
		d = ToClient
	}
	w.flows.touch(f)
	f.Last, f.lastIndex = w.clock, index
	f.Pkts[d]++
	f.Bytes[d] += uint64(p.PayloadLen)
	w.track(f, p, d)
	w.deliver(f, p, d, t, index)
}

// newFlow creates the flow of a first packet, evicting the least recently
// seen flow when the table is full, and decides the orientation.
func (w *Worker) newFlow(k Key, p *Packet, src, dst netip.AddrPort) *Flow {
	if w.flows.full() {
		w.end(w.flows.head, &w.st.evictions)
	}
	f := w.flows.add(k, w.clock)
	w.st.flows.Add(1)
	w.st.active.Add(1)
	clientIsSrc := src.Port() > dst.Port() || src.Port() == dst.Port()
	switch syn, ack := p.Flags&FlagSYN != 0, p.Flags&FlagACK != 0; {
	case syn && !ack:
		clientIsSrc = true
	case syn && ack:
		clientIsSrc = false
	}
	f.Client, f.Server = src, dst
	if !clientIsSrc {
		f.Client, f.Server = dst, src
	}
	if p.Flags&FlagSYN == 0 && w.cfg.Midstream {
		f.State, f.Midstream, f.established = StateEstablished, true, true
		w.st.midstream.Add(1)
	}
	return f
}

// reopens reports whether a SYN starts a new connection on the tuple of a
// finished one.
func reopens(f *Flow, p *Packet, src netip.AddrPort) bool {
	if p.Flags&(FlagSYN|FlagACK) != FlagSYN || f.State < StateClosing {
		return false
	}
	d := ToServer
	if src != f.Client {
		d = ToClient
	}
	return !f.synSeen[d] || f.isn[d] != p.Seq
}

func (w *Worker) sweep() {
	minIdle := min(w.cfg.TimeoutNew, w.cfg.TimeoutEst, w.cfg.TimeoutClosed)
	for f := w.flows.head; f != nil; {
		idle := w.clock.Sub(f.Last)
		if idle < minIdle {
			return
		}
		next := f.next
		if idle >= w.timeout(f) {
			w.end(f, &w.st.endTimeout)
		}
		f = next
	}
}

func (w *Worker) timeout(f *Flow) time.Duration {
	switch {
	case f.State == StateClosed:
		return w.cfg.TimeoutClosed
	case f.established:
		return w.cfg.TimeoutEst
	}
	return w.cfg.TimeoutNew
}

// end flushes a flow's held bytes, tells the Inspector and frees it.
func (w *Worker) end(f *Flow, why *counter) {
	why.Add(1)
	for d := range f.dir {
		s := &f.dir[d]
		if len(s.ooo) == 0 {
			continue
		}
		from, n := s.flush(&w.re)
		w.ev = Event{Flow: f, Index: f.lastIndex, Time: w.clock, ToServer: d == ToServer,
			Established: f.established, Stream: s.buf[from:], NewData: n,
			StreamEnd: s.end(), Gap: true}
		w.ev.Src, w.ev.Dst = f.Client, f.Server
		if d == ToClient {
			w.ev.Src, w.ev.Dst = f.Server, f.Client
		}
		w.insp.Inspect(&w.ev)
	}
	w.insp.FlowEnd(f)
	for d := range f.dir {
		f.dir[d].drop(&w.re)
	}
	w.flows.remove(f)
	w.st.active.Add(-1)
}
