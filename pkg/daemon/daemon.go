// Package daemon wires softips together: the XDP classifier on the mirror
// port, the RST injector on the management port, the block table with its
// aging and invariant extraction, detection, and the control API.
//
// It is the only place besides cmd/ that logs. It must never put an entry
// in the kernel that is not in the block table: every change flows through
// sync.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/vishvananda/netlink"

	"github.com/softips/softips/pkg/api"
	"github.com/softips/softips/pkg/blocktable"
	"github.com/softips/softips/pkg/config"
	"github.com/softips/softips/pkg/inject"
	"github.com/softips/softips/pkg/invariant"
	"github.com/softips/softips/pkg/kernel"
	"github.com/softips/softips/pkg/pipeline"
)

// Options are the daemon's command-line settings.
type Options struct {
	Monitor    string // mirror interface (XDP)
	Inject     string // management interface (RSTs)
	ConfigPath string
	Rules      []string
	AV         []string // ClamAV-format signature files or directories
	StateDir   string
	Socket     string // API unix socket path
	Metrics    string // optional TCP address serving /metrics only, e.g. 127.0.0.1:9470
	EVE        string // alert output file, "-" for stdout
	PinPath    string
	Log        zerolog.Logger
}

// tickEvery is how often hits are read from the kernel, entries aged and
// resets settled.
const tickEvery = time.Second

// resetTickEvery is how often resets are settled and held triggers (the
// newest segment of a flow past its budget) are answered.
const resetTickEvery = 100 * time.Millisecond

// Daemon is one running softips instance.
type Daemon struct {
	o       Options
	log     zerolog.Logger
	table   *blocktable.Table
	inv     *invariant.Extractor
	cls     *kernel.Classifier
	sender  *inject.Sender
	tracker *inject.Tracker
	protect []blocktable.Protected
	cfg     *config.Config
	det     *detection

	syncKick  chan struct{}
	syncMu    sync.Mutex
	syncedGen uint64
	syncErrs  uint64
	signals   atomic.Uint64
	bypassed  atomic.Uint64 // flows whose payload the kernel stopped mirroring
	pipe      atomic.Pointer[pipeline.Pipeline]
}

// Run starts the daemon and blocks until ctx ends; then it detaches the
// XDP program, flushes the block table and closes everything it opened.
func Run(ctx context.Context, o Options) (err error) {
	d := &Daemon{o: o, log: o.Log, syncKick: make(chan struct{}, 1)}
	defer func() { err = errors.Join(err, d.close()) }()
	if err := d.open(); err != nil {
		return err
	}
	l, err := api.Listen(o.Socket)
	if err != nil {
		return err
	}
	d.log.Info().Str("iface", o.Monitor).Str("mode", d.cls.AttachMode()).
		Str("inject", o.Inject).Str("socket", o.Socket).Int("entries", len(d.entries())).
		Msg("softips running")
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 6)
	go func() { errc <- d.syncLoop(ctx) }()
	go func() { errc <- api.Serve(ctx, l, api.Handler(d)) }()
	if o.Metrics != "" {
		ml, err := net.Listen("tcp", o.Metrics)
		if err != nil {
			return fmt.Errorf("--metrics %q: %w", o.Metrics, err)
		}
		go func() { errc <- api.Serve(ctx, ml, api.MetricsHandler(d)) }()
	}
	go func() { errc <- d.cls.ReadInjects(ctx, d.onInject) }()
	go func() { errc <- d.tickLoop(ctx) }()
	if d.det != nil {
		go func() { errc <- d.runDetection(ctx) }()
	}
	select {
	case <-ctx.Done():
	case err = <-errc:
		cancel()
	}
	d.log.Info().Msg("softips stopping")
	return err
}

func (d *Daemon) open() error {
	if d.o.Monitor == "" || d.o.Inject == "" {
		return errors.New("both --monitor and --inject are required")
	}
	if d.o.Monitor == d.o.Inject {
		return fmt.Errorf("--monitor and --inject are both %q: RSTs must leave through "+
			"a separate management interface", d.o.Monitor)
	}
	for flag, name := range map[string]string{"--monitor": d.o.Monitor,
		"--inject": d.o.Inject} {
		if _, err := netlink.LinkByName(name); err != nil {
			return fmt.Errorf("%s %q: no such interface in this network namespace", flag, name)
		}
	}
	if err := d.loadConfig(); err != nil {
		return err
	}
	protect, err := protectedPrefixes(d.o.Inject, d.o.Monitor)
	if err != nil {
		return err
	}
	d.protect = protect
	if err := d.openTable(); err != nil {
		return err
	}
	if err := d.openDetection(); err != nil {
		return err
	}
	if err := d.openKernel(); err != nil {
		return err
	}
	return d.openInjector()
}

func (d *Daemon) loadConfig() error {
	d.cfg = config.Default()
	if d.o.ConfigPath == "" {
		return nil
	}
	c, err := config.Load(d.o.ConfigPath)
	if err != nil {
		return err
	}
	d.cfg = c
	return nil
}

func (d *Daemon) openTable() error {
	to := d.cfg.TableOptions()
	if d.o.StateDir != "" {
		to.StateDir = d.o.StateDir
	}
	to.Guard.Protected = append(to.Guard.Protected, d.protect...)
	d.protect = to.Guard.Protected
	to.OnChange = func(uint64) { d.kickSync() }
	t, err := blocktable.Open(to)
	if err != nil {
		return err
	}
	d.table = t
	for _, w := range t.LoadWarnings() {
		d.log.Warn().Str("reason", w).Msg("block table loaded without an entry")
	}
	io, err := d.cfg.InvariantOptions()
	if err != nil {
		return err
	}
	d.inv, err = invariant.New(t, io)
	return err
}

func (d *Daemon) openKernel() error {
	ic := d.cfg.Inject
	ko := kernel.Options{PinPath: d.o.PinPath, RateBurst: uint32(ic.FlowBurst),
		RateIntervalNS: uint32(time.Duration(ic.FlowInterval).Nanoseconds())}
	if d.o.PinPath == "" {
		d.o.PinPath = kernel.DefaultPinPath
		ko.PinPath = d.o.PinPath
	}
	// Pins live below a bpffs; mount one on the parent where the host has
	// none (ip netns exec gives each command a /sys without it).
	if err := kernel.EnsureBPFFS(filepath.Dir(d.o.PinPath)); err != nil {
		return err
	}
	if d.det != nil {
		ko.MirrorShards = 2
		ko.SnapLen = uint32(d.cfg.Detect.SnapLen)
	}
	cls, err := kernel.Load(ko)
	if err != nil {
		return fmt.Errorf("load classifier: %w", err)
	}
	d.cls = cls
	if err := d.syncNow(); err != nil {
		return err
	}
	if err := cls.Attach(d.o.Monitor); err != nil {
		if errors.Is(err, syscall.EBUSY) || errors.Is(err, syscall.EEXIST) {
			return fmt.Errorf("--monitor %q already has an XDP program (another softips?): %w",
				d.o.Monitor, err)
		}
		return err
	}
	return nil
}

func (d *Daemon) openInjector() error {
	s, err := inject.NewSender(d.o.Inject, inject.SenderOptions{})
	if err != nil {
		return fmt.Errorf("open injector on %q: %w", d.o.Inject, err)
	}
	d.sender = s
	d.warmNextHops()
	ic := d.cfg.Inject
	budget := ic.ExtraBudget
	if budget == 0 {
		budget = -1 // the tracker reads 0 as "default"; the config means none
	}
	d.tracker = inject.NewTracker(inject.TrackerConfig{Protected: prefixes(d.protect),
		ExtraBudget: budget, QuietTime: time.Duration(ic.QuietTime),
		RetryEvery: time.Duration(ic.RetryEvery),
		Build:      inject.BuildOptions{FixedTTL: uint8(ic.FixedTTL), DefaultTTL: uint8(ic.TTL)}},
		s.Send, d.onResetEvent)
	return nil
}

func (d *Daemon) close() error {
	var errs []error
	if d.cls != nil {
		errs = append(errs, d.cls.Close())
	}
	if d.sender != nil {
		errs = append(errs, d.sender.Close())
	}
	if d.table != nil {
		errs = append(errs, d.table.Flush())
	}
	errs = append(errs, d.det.close())
	return errors.Join(errs...)
}

// tickLoop reads hits from the kernel, ages entries and settles resets.
func (d *Daemon) tickLoop(ctx context.Context) error {
	t := time.NewTicker(tickEvery)
	defer t.Stop()
	fast := time.NewTicker(resetTickEvery)
	defer fast.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-fast.C:
			d.tracker.Tick(now) // held final triggers go out within a tenth of a second
		case now := <-t.C:
			d.tick(now)
		}
	}
}

func (d *Daemon) tick(now time.Time) {
	if hits, err := d.cls.Hits(); err != nil {
		d.log.Warn().Err(err).Msg("read kernel hits")
	} else {
		d.table.ApplyHits(tableHits(hits))
	}
	for _, e := range d.table.Expire() {
		d.log.Info().Str("spec", e.Spec.String()).Uint64("entry", e.ID).
			Str("origin", e.Origin.String()).Str("reason", "idle lifetime over").
			Msg("block expired")
	}
	d.warmNextHops()
	if err := d.table.Flush(); err != nil {
		d.log.Warn().Err(err).Msg("persist block table")
	}
	if gen, _ := d.table.Snapshot(); gen != d.synced() {
		_ = d.syncNow() // retry a sync that failed earlier
	}
}

func tableHits(h map[uint64]kernel.Hit) map[uint64]blocktable.Hit {
	out := make(map[uint64]blocktable.Hit, len(h))
	for id, x := range h {
		out[id] = blocktable.Hit{Hits: x.Hits, LastHit: x.LastHit}
	}
	return out
}

func (d *Daemon) entries() []blocktable.Entry {
	_, es := d.table.Snapshot()
	return es
}

// warmNextHops keeps the gateways' MACs in the injector's cache, so the
// first RST of a block does not wait for a neighbour lookup (or ARP) while
// the real traffic races ahead of it.
func (d *Daemon) warmNextHops() {
	for _, p := range d.protect {
		if p.Label != "gateway" {
			continue
		}
		if _, err := d.sender.Resolve(p.Prefix.Addr()); err != nil {
			d.log.Debug().Err(err).Str("gateway", p.Prefix.Addr().String()).
				Msg("resolve next hop")
		}
	}
}
