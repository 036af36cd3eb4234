package daemon

import (
	"fmt"

	"github.com/softips/softips/pkg/kernel"
)

// sync copies the block table into the kernel maps. It is the one path by
// which entries reach the kernel; failures are logged, counted and retried
// on the next tick.
func (d *Daemon) sync() {
	if err := d.syncNow(); err != nil {
		d.log.Warn().Err(err).Msg("sync block table to kernel")
	}
}

func (d *Daemon) syncNow() error {
	if d.cls == nil {
		return nil // the table is loaded before the classifier; openKernel syncs
	}
	d.syncMu.Lock()
	defer d.syncMu.Unlock()
	gen, es := d.table.Snapshot()
	ks := make([]kernel.Entry, len(es))
	for i, e := range es {
		ks[i] = kernel.Entry{ID: e.ID, Spec: e.Spec}
	}
	if err := d.cls.SetBlocks(ks); err != nil {
		d.syncErrs++
		return fmt.Errorf("sync %d entries: %w", len(ks), err)
	}
	d.syncedGen = gen
	return nil
}

func (d *Daemon) synced() uint64 {
	d.syncMu.Lock()
	defer d.syncMu.Unlock()
	return d.syncedGen
}
