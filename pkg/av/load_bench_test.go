package av

import (
	"runtime"
	"testing"
)

// BenchmarkLoad100k measures loading 100,000 hash and 100,000 body
// signatures and reports the heap the loaded database keeps.
func BenchmarkLoad100k(b *testing.B) {
	var db *DB
	for b.Loop() {
		db = synthDB(b, 100_000)
	}
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	b.ReportMetric(float64(m.HeapAlloc)/(1<<20), "heap-MiB")
	runtime.KeepAlive(db)
}
