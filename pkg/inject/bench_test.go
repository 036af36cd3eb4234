package inject

import "testing"

func benchBuild(b *testing.B, f pkt) {
	tr := triggerOf(b, f.serialize(b))
	var frames [][]byte
	b.ReportAllocs()
	for b.Loop() {
		frames, _ = BuildResets(tr, BuildOptions{}, frames)
	}
}

func BenchmarkBuildResetsIPv4(b *testing.B) { benchBuild(b, fixPayload) }
func BenchmarkBuildResetsIPv6(b *testing.B) { benchBuild(b, fixV6) }

// BenchmarkTrackerHandle answers the later triggers of one flow (the
// budget is large enough to never run out), send being a no-op.
func BenchmarkTrackerHandle(b *testing.B) {
	tk := NewTracker(TrackerConfig{ExtraBudget: 1 << 30},
		func(...[]byte) error { return nil }, nil)
	tr := triggerOf(b, fixPayload.serialize(b))
	b.ReportAllocs()
	for b.Loop() {
		tr.Seq += 100
		tk.Handle(tr)
	}
}
