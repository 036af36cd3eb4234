package kernel

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestLoadReplacesStalePins: a second Load on one pin path takes the pins
// over with fresh maps, and Close removes them.
func TestLoadReplacesStalePins(t *testing.T) {
	needRoot(t)
	dir := filepath.Join(mountBPFFS(t), "softips")
	first, err := Load(Options{PinPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	setBlocks(t, first, "0.0.0.0/0 0 198.51.100.20/32 443")

	second, err := Load(Options{PinPath: dir})
	if err != nil {
		t.Fatalf("second load on %q: %v", dir, err)
	}
	if n := len(blockIDs(t, second)); n != 0 {
		t.Errorf("second classifier starts with %d stale entries", n)
	}
	pinnedInfo, err := os.Stat(filepath.Join(dir, "blocks"))
	if err != nil {
		t.Fatalf("blocks not pinned: %v", err)
	}
	if pinnedInfo.IsDir() {
		t.Fatal("blocks pin is a directory")
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "blocks")); err != nil {
		t.Fatalf("closing the first classifier removed the second's pin: %v", err)
	}
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("pins left after Close: %v", left)
	}
}

// TestLoadNeedsBPFFS: a pin path outside bpffs is refused with ErrNotBPFFS;
// EnsureBPFFS mounts one there and then Load works.
func TestLoadNeedsBPFFS(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	if _, err := Load(Options{PinPath: dir}); !errors.Is(err, ErrNotBPFFS) {
		t.Fatalf("load on %q: error %v, want ErrNotBPFFS", dir, err)
	}
	if err := EnsureBPFFS(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	if err := EnsureBPFFS(dir); err != nil {
		t.Fatalf("second EnsureBPFFS: %v", err)
	}
	c, err := Load(Options{PinPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestOptionsRefused: bad sizes and shard counts are errors, not panics.
func TestOptionsRefused(t *testing.T) {
	needRoot(t)
	dir := filepath.Join(mountBPFFS(t), "softips")
	for name, o := range map[string]Options{
		"inject ring not a power of two": {InjectRingSize: 5000},
		"mirror ring below a page":       {MirrorShards: 1, MirrorRingSize: 1024},
		"too many shards":                {MirrorShards: MaxMirrorShards + 1},
		"negative shards":                {MirrorShards: -1},
	} {
		o.PinPath = dir
		if c, err := Load(o); err == nil {
			c.Close()
			t.Errorf("%s: loaded", name)
		}
	}
}
