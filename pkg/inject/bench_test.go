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
