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
)

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
}

// Classifier is the loaded XDP classifier with its pinned maps.
type Classifier struct {
	objs    bpfObjects
	pinPath string
	pinned  []string

	mu     sync.Mutex
	link   link.Link
	mode   string
	blocks map[bpfSoftipsBlockKey]uint64 // what the blocks map holds: key -> entry id
	shapes []bpfSoftipsShape
	gen    uint32
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
		blocks: make(map[bpfSoftipsBlockKey]uint64)}
	copts := &ebpf.CollectionOptions{Maps: ebpf.MapOptions{PinPath: opts.PinPath}}
	if err := spec.LoadAndAssign(&c.objs, copts); err != nil {
		return nil, fmt.Errorf("load classifier: %w", err)
	}
	return c, nil
}

// configure writes the run-time knobs and map sizes into spec.
func configure(spec *ebpf.CollectionSpec, opts Options) error {
	vars := map[string]uint32{
		bpfVarRateBurst:      opts.RateBurst,
		bpfVarRateIntervalNs: opts.RateIntervalNS,
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

// Close detaches the program, releases every object and removes the pins.
func (c *Classifier) Close() error {
	errs := []error{c.Detach()}
	if err := c.objs.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close objects: %w", err))
	}
	for _, p := range c.pinned {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove pin %q: %w", p, err))
		}
	}
	_ = os.Remove(c.pinPath) // only succeeds when nothing else is pinned there
	return errors.Join(errs...)
}
