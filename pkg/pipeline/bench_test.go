package pipeline

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/softips/softips/internal/testenv"
	"github.com/softips/softips/pkg/capture"
)

// largestCorpusCapture returns the frames of the biggest file in
// corpus/pcaps, held in memory.
func largestCorpusCapture(b *testing.B) (string, []capture.Frame) {
	dir := filepath.Join(testenv.Corpus(b), "pcaps")
	ents, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	type sized struct {
		name string
		size int64
	}
	var files []sized
	for _, e := range ents {
		if info, err := e.Info(); err == nil && filepath.Ext(e.Name()) != ".txt" {
			files = append(files, sized{e.Name(), info.Size()})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].size > files[j].size })
	frames, err := capture.ReadAll(filepath.Join(dir, files[0].name))
	if err != nil {
		b.Fatal(err)
	}
	return files[0].name, frames
}

// BenchmarkDecodeReassemble measures one packet of the largest corpus
// capture through decode, flow table, state and reassembly (ns/op and
// allocs/op are per packet; the capture is replayed, flows closed between
// passes).
func BenchmarkDecodeReassemble(b *testing.B) {
	name, frames := largestCorpusCapture(b)
	b.Logf("capture %s, %d frames", name, len(frames))
	w := NewWorker(Config{}, 0, nopInspector{})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(frames)
		if j == 0 {
			w.Close()
		}
		f := &frames[j]
		w.HandleFrame(f.LinkType, f.Data, f.OrigLen, f.Time, f.Index)
	}
}

// BenchmarkDecode measures decoding alone.
func BenchmarkDecode(b *testing.B) {
	_, frames := largestCorpusCapture(b)
	var p Packet
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f := &frames[i%len(frames)]
		Decode(f.LinkType, f.Data, &p)
	}
}
