package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/softips/softips/pkg/capture"
)

// FrameSource yields frames until io.EOF; *capture.Reader is one.
type FrameSource interface {
	Next() (capture.Frame, error)
}

// Pipeline runs frames through Config.Workers workers, sharded by a
// symmetric flow hash so that both directions of a flow reach the same
// worker in order.
type Pipeline struct {
	cfg     Config
	workers []*Worker
}

// New builds a pipeline; inspector is called once per shard.
func New(cfg Config, inspector func(shard int) Inspector) *Pipeline {
	cfg = cfg.withDefaults()
	p := &Pipeline{cfg: cfg}
	for i := range cfg.Workers {
		p.workers = append(p.workers, NewWorker(cfg, i, inspector(i)))
	}
	return p
}

// Workers returns the shards; live sources feed each from its own
// goroutine.
func (p *Pipeline) Workers() []*Worker { return p.workers }

// Stats sums the counters of all workers.
func (p *Pipeline) Stats() Stats {
	var s Stats
	for _, w := range p.workers {
		s.Add(w.Stats())
	}
	return s
}

// Run feeds every frame of src through the workers, then ends all flows.
// It stops early with ctx's error, or with the source's error.
func (p *Pipeline) Run(ctx context.Context, src FrameSource) error {
	if len(p.workers) == 1 {
		return p.runInline(ctx, src)
	}
	return p.runSharded(ctx, src)
}

func (p *Pipeline) runInline(ctx context.Context, src FrameSource) error {
	w := p.workers[0]
	defer w.Close()
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return fmt.Errorf("run pipeline: %w", ctx.Err())
		}
		f, err := src.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("run pipeline: %w", err)
		}
		w.HandleFrame(f.LinkType, f.Data, f.OrigLen, f.Time, f.Index)
	}
}

// batch carries frames copied out of the reader's buffer to a worker.
type batch struct {
	frames []capture.Frame
	arena  []byte
}

const batchFrames = 64

func (p *Pipeline) runSharded(ctx context.Context, src FrameSource) error {
	n := len(p.workers)
	free := make(chan *batch, 4*n)
	for range 4 * n {
		free <- &batch{arena: make([]byte, 0, 64<<10)}
	}
	queues := make([]chan *batch, n)
	var wg sync.WaitGroup
	for i, w := range p.workers {
		queues[i] = make(chan *batch, 2)
		wg.Go(func() { work(w, queues[i], free) })
	}
	err := p.dispatch(ctx, src, queues, free)
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	return err
}

func work(w *Worker, q <-chan *batch, free chan<- *batch) {
	defer w.Close()
	for b := range q {
		for _, f := range b.frames {
			w.HandleFrame(f.LinkType, f.Data, f.OrigLen, f.Time, f.Index)
		}
		b.frames, b.arena = b.frames[:0], b.arena[:0]
		free <- b
	}
}

// dispatch reads frames, picks each one's shard and sends full batches.
func (p *Pipeline) dispatch(ctx context.Context, src FrameSource, queues []chan *batch,
	free chan *batch) error {
	pending := make([]*batch, len(queues))
	var pkt Packet
	defer func() {
		for i, b := range pending {
			if b != nil && len(b.frames) > 0 {
				queues[i] <- b
			}
		}
	}()
	for n := 1; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return fmt.Errorf("run pipeline: %w", ctx.Err())
		}
		f, err := src.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("run pipeline: %w", err)
		}
		i := 0
		if Decode(f.LinkType, f.Data, &pkt) == ReasonOK {
			k := MakeKey(pkt.SrcAddrPort(), pkt.DstAddrPort())
			i = int(k.Hash() % uint64(len(queues)))
		}
		if pending[i] == nil {
			select {
			case pending[i] = <-free:
			case <-ctx.Done():
				return fmt.Errorf("run pipeline: %w", ctx.Err())
			}
		}
		b := pending[i]
		start := len(b.arena)
		b.arena = append(b.arena, f.Data...)
		f.Data = b.arena[start:len(b.arena):len(b.arena)]
		b.frames = append(b.frames, f)
		if len(b.frames) == batchFrames || len(b.arena) > cap(b.arena)-2048 {
			queues[i] <- b
			pending[i] = nil
		}
	}
}

// LiveFeed delivers the Ethernet frames of one shard to fn until ctx ends
// or the source fails. data may be a snapshot shorter than origLen, and is
// only valid during the call.
type LiveFeed func(ctx context.Context, shard int, fn func(data []byte, origLen int)) error

// RunLive runs one goroutine per worker, each fed by feed for its shard
// (the kernel already shards by a symmetric flow hash), stamps frames with
// the wall clock and ends all flows when the feeds return. It returns the
// first feed error that is not ctx's.
func (p *Pipeline) RunLive(ctx context.Context, feed LiveFeed) error {
	errs := make([]error, len(p.workers))
	var wg sync.WaitGroup
	for i, w := range p.workers {
		wg.Go(func() {
			defer w.Close()
			errs[i] = feed(ctx, i, func(data []byte, origLen int) {
				w.HandleFrame(layers.LinkTypeEthernet, data, origLen, time.Now(), 0)
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && !errors.Is(err, ctx.Err()) {
			return fmt.Errorf("run pipeline shard %d: %w", i, err)
		}
	}
	return nil
}
