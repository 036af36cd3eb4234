package daemon

import (
	"context"
	"fmt"

	"github.com/softips/softips/pkg/kernel"
)

// kickSync asks the sync loop for a sync without waiting: detection
// workers add entries on their packet path, and a burst of signals then
// costs one table-wide sync, not one each.
func (d *Daemon) kickSync() {
	select {
	case d.syncKick <- struct{}{}:
	default: // a sync is pending already and will see this change too
	}
}

// syncLoop runs the syncs kickSync asks for until ctx ends.
func (d *Daemon) syncLoop(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-d.syncKick:
			d.sync()
		}
	}
}

// sync copies the block table into the kernel maps. It is the one path by
// which entries reach the kernel; failures are logged, counted and retried
// on the next tick. The API calls it directly, so a `block add` returns
// once the kernel enforces the entry.
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
	if gen == d.syncedGen && gen != 0 {
		return nil // nothing changed since the last sync
	}
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
