package blocktable

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/softips/softips/pkg/flowspec"
)

// TestConcurrentUse drives every method from several goroutines (run with
// -race) and checks the books balance afterwards.
func TestConcurrentUse(t *testing.T) {
	var mu sync.Mutex
	c := newClock()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return c.t }
	tb := open(t, c, func(o *Options) { o.StateDir, o.Now = t.TempDir(), now })
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 100 {
				s := flowspec.MustParse(fmt.Sprintf("198.51.%d.%d 0 203.0.113.10 80", g, i))
				o := []Origin{Detector, Derived, Detector, Derived, Admin}[i%5]
				e, _, err := tb.Add(Request{Spec: s, Origin: o})
				if err != nil {
					t.Error(err)
					return
				}
				if i%4 == 0 {
					tb.Delete(e.ID)
				}
				tb.ApplyHits(map[uint64]Hit{e.ID: {Hits: uint64(i)}})
				tb.Snapshot()
				tb.CoveringWider(s)
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			mu.Lock()
			c.Advance(5 * time.Second)
			mu.Unlock()
			tb.Expire()
			tb.Flush()
		}
	})
	wg.Wait()
	st := tb.Stats()
	if int(st.Adds-st.Deletes-st.Expired) != st.Entries || st.Adds != 400 {
		t.Errorf("stats do not balance: %+v", st)
	}
}
