package kernel

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// DefaultPinPath is where the classifier's maps are pinned unless
// Options.PinPath says otherwise.
const DefaultPinPath = "/sys/fs/bpf/softips"

// Defaults for the zero values of Options.
const (
	DefaultRateBurst      = 8
	DefaultRateIntervalNS = 20_000_000
	DefaultInjectRingSize = 256 << 10
	DefaultMirrorRingSize = 4 << 20
	DefaultSnapLen        = 256
)

// MaxMirrorShards is the most detection rings the classifier can feed.
const MaxMirrorShards = 8

// MaxSnapshot is the most bytes of one frame a detection ring record holds.
const MaxSnapshot = 2048

// ErrNotBPFFS is returned when the pin path is not on a BPF file system.
var ErrNotBPFFS = errors.New("not on a bpf file system")

// ErrAttached is returned by Attach when the program is already attached.
var ErrAttached = errors.New("classifier already attached")

// Options tune the classifier before it is loaded; zero values take the
// defaults above.
type Options struct {
	// PinPath is the bpffs directory for the pinned maps.
	PinPath string
	// RateBurst is how many inject requests one flow may raise at once.
	RateBurst uint32
	// RateIntervalNS is how often a flow earns one more inject request.
	RateIntervalNS uint32
	// InjectRingSize is the inject ring's size in bytes: a power of two
	// and a multiple of the page size.
	InjectRingSize uint32
	// MirrorShards is how many detection rings to feed (0 = no mirror,
	// at most MaxMirrorShards); both directions of a flow share a ring.
	MirrorShards int
	// MirrorRingSize is each detection ring's size in bytes: a power of
	// two and a multiple of the page size.
	MirrorRingSize uint32
	// SnapLen is how many TCP payload bytes a snapshot keeps after the
	// headers; the whole snapshot never exceeds MaxSnapshot.
	SnapLen uint32
}

func (o *Options) setDefaults() {
	if o.PinPath == "" {
		o.PinPath = DefaultPinPath
	}
	if o.RateBurst == 0 {
		o.RateBurst = DefaultRateBurst
	}
	if o.RateIntervalNS == 0 {
		o.RateIntervalNS = DefaultRateIntervalNS
	}
	if o.InjectRingSize == 0 {
		o.InjectRingSize = DefaultInjectRingSize
	}
	if o.MirrorRingSize == 0 {
		o.MirrorRingSize = DefaultMirrorRingSize
	}
	if o.SnapLen == 0 {
		o.SnapLen = DefaultSnapLen
	}
}

// Classifier is the loaded XDP classifier with its pinned maps.
type Classifier struct {
	objs    bpfObjects
	pinPath string
	pinned  []string
	rings   []*ebpf.Map // detection rings, one per shard

	mu     sync.Mutex
	link   link.Link
	mode   string
	blocks map[bpfSoftipsBlockKey]uint64 // what the blocks map holds: key -> entry id
	shapes []bpfSoftipsShape
	gen    uint32
	filter addrFilter                // nonzero buckets of the kernel's address filter
	bits   map[bpfSoftipsShape]uint8 // filter bit of every shape that owns one
}

// Load loads the classifier and pins its maps under opts.PinPath, replacing
// pins a previous run left behind. The program is not attached yet.
func Load(opts Options) (*Classifier, error) {
	opts.setDefaults()
	spec, err := loadBpf()
	if err != nil {
		return nil, fmt.Errorf("load classifier spec: %w", err)
	}
	if err := configure(spec, opts); err != nil {
		return nil, err
	}
	pinned, err := clearPins(spec, opts.PinPath)
	if err != nil {
		return nil, err
	}

	c := &Classifier{pinPath: opts.PinPath, pinned: pinned,
		blocks: make(map[bpfSoftipsBlockKey]uint64), filter: make(addrFilter),
		bits: make(map[bpfSoftipsShape]uint8)}
	copts := &ebpf.CollectionOptions{Maps: ebpf.MapOptions{PinPath: opts.PinPath}}
	if err := spec.LoadAndAssign(&c.objs, copts); err != nil {
		return nil, fmt.Errorf("load classifier: %w", err)
	}
	if err := c.addRings(spec.Maps[bpfMapMirrorRings].InnerMap, opts.MirrorShards); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// addRings creates the detection rings and links them into the classifier.
func (c *Classifier) addRings(tmpl *ebpf.MapSpec, n int) error {
	for i := range n {
		ring, err := ebpf.NewMap(tmpl)
		if err != nil {
			return fmt.Errorf("create detection ring %d: %w", i, err)
		}
		c.rings = append(c.rings, ring)
		if err := c.objs.MirrorRings.Put(uint32(i), ring); err != nil {
			return fmt.Errorf("link detection ring %d: %w", i, err)
		}
	}
	return nil
}

// configure writes the run-time knobs and map sizes into spec.
func configure(spec *ebpf.CollectionSpec, opts Options) error {
	if opts.MirrorShards < 0 || opts.MirrorShards > MaxMirrorShards {
		return fmt.Errorf("mirror shards %d: not in 0..%d", opts.MirrorShards, MaxMirrorShards)
	}
	vars := map[string]uint32{
		bpfVarRateBurst:      opts.RateBurst,
		bpfVarRateIntervalNs: opts.RateIntervalNS,
		bpfVarShardCount:     uint32(opts.MirrorShards),
		bpfVarSnapLen:        opts.SnapLen,
	}
	for name, v := range vars {
		if err := spec.Variables[name].Set(v); err != nil {
			return fmt.Errorf("set %q: %w", name, err)
		}
	}
	if err := checkRingSize(opts.InjectRingSize); err != nil {
		return fmt.Errorf("inject ring: %w", err)
	}
	spec.Maps[bpfMapInjectReqs].MaxEntries = opts.InjectRingSize
	if err := checkRingSize(opts.MirrorRingSize); err != nil {
		return fmt.Errorf("detection ring: %w", err)
	}
	spec.Maps[bpfMapMirrorRings].InnerMap.MaxEntries = opts.MirrorRingSize
	return nil
}

func checkRingSize(n uint32) error {
	page := uint32(os.Getpagesize())
	if n < page || n&(n-1) != 0 {
		return fmt.Errorf("size %d is not a power of two of at least %d", n, page)
	}
	return nil
}

// clearPins makes sure dir is on bpffs and removes stale pins of our maps.
func clearPins(spec *ebpf.CollectionSpec, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pin path %q: %w", dir, err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return nil, fmt.Errorf("pin path %q: %w", dir, err)
	}
	if st.Type != unix.BPF_FS_MAGIC {
		return nil, fmt.Errorf("pin path %q: %w", dir, ErrNotBPFFS)
	}
	var pinned []string
	for name, ms := range spec.Maps {
		if ms.Pinning != ebpf.PinByName {
			continue
		}
		p := filepath.Join(dir, name)
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("remove stale pin %q: %w", p, err)
		}
		pinned = append(pinned, p)
	}
	return pinned, nil
}

// PinPath returns the directory holding the classifier's pinned maps.
func (c *Classifier) PinPath() string { return c.pinPath }

// Attach attaches the classifier to the interface named ifname, in native
// (driver) mode where the driver supports it and in generic mode otherwise.
func (c *Classifier) Attach(ifname string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.link != nil {
		return fmt.Errorf("attach %q: %w", ifname, ErrAttached)
	}
	ifc, err := net.InterfaceByName(ifname)
	if err != nil {
		return fmt.Errorf("attach %q: %w", ifname, err)
	}
	opts := link.XDPOptions{Program: c.objs.SoftipsXdp, Interface: ifc.Index,
		Flags: link.XDPDriverMode}
	l, nerr := link.AttachXDP(opts)
	c.mode = "native"
	if nerr != nil {
		opts.Flags = link.XDPGenericMode
		l, err = link.AttachXDP(opts)
		c.mode = "generic"
	}
	if err != nil {
		return fmt.Errorf("attach %q: native: %v; generic: %w", ifname, nerr, err)
	}
	c.link = l
	return nil
}

// AttachMode returns "native" or "generic" after a successful Attach, and
// "" while detached.
func (c *Classifier) AttachMode() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.link == nil {
		return ""
	}
	return c.mode
}

// Detach removes the program from its interface; the maps stay loaded.
func (c *Classifier) Detach() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.link == nil {
		return nil
	}
	err := c.link.Close()
	c.link = nil
	if err != nil {
		return fmt.Errorf("detach: %w", err)
	}
	return nil
}

// Close detaches the program, removes the pins it made (not pins a later
// Load on the same path took over) and releases every object.
func (c *Classifier) Close() error {
	errs := []error{c.Detach(), c.unpin()}
	if err := c.objs.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close objects: %w", err))
	}
	for i, r := range c.rings {
		if err := r.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close detection ring %d: %w", i, err))
		}
	}
	_ = os.Remove(c.pinPath) // only succeeds when nothing else is pinned there
	return errors.Join(errs...)
}

// unpin removes each pin that still refers to this classifier's map.
func (c *Classifier) unpin() error {
	var errs []error
	for _, p := range c.pinned {
		pinned, err := ebpf.LoadPinnedMap(p, nil)
		if err != nil {
			continue // gone already, or not a map
		}
		mine := sameMap(pinned, c.mapNamed(filepath.Base(p)))
		pinned.Close()
		if !mine {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove pin %q: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

func (c *Classifier) mapNamed(name string) *ebpf.Map {
	o := &c.objs
	for _, m := range []*ebpf.Map{o.Blocks, o.AddrFilter, o.Shapes, o.ShapeSlot, o.Counters,
		o.InjectReqs, o.InjectBuckets, o.MirrorRings, o.MirrorDrops, o.MirrorBypass} {
		if m == nil {
			continue
		}
		if info, err := m.Info(); err == nil && info.Name == name {
			return m
		}
	}
	return nil
}

func sameMap(a, b *ebpf.Map) bool {
	if a == nil || b == nil {
		return false
	}
	ia, erra := a.Info()
	ib, errb := b.Info()
	if erra != nil || errb != nil {
		return false
	}
	idA, okA := ia.ID()
	idB, okB := ib.ID()
	return okA && okB && idA == idB
}

// EnsureBPFFS mounts a BPF file system on dir unless one is there already,
// as a daemon must do on hosts that do not mount /sys/fs/bpf at boot.
func EnsureBPFFS(dir string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return fmt.Errorf("bpffs %q: %w", dir, err)
	}
	if st.Type == unix.BPF_FS_MAGIC {
		return nil
	}
	if err := unix.Mount("bpf", dir, "bpf", 0, "mode=0700"); err != nil {
		return fmt.Errorf("mount bpffs on %q: %w", dir, err)
	}
	return nil
}
