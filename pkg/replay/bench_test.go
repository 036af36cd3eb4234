package replay

import (
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/softips/softips/internal/testenv"
	"github.com/softips/softips/pkg/capture"
	"github.com/softips/softips/pkg/pipeline"
)

// benchRules are a handful of typical rules: raw content with and without
// flow, a pcre, an HTTP sticky buffer and a flag test.
const benchRules = `
alert ip any any -> any any (msg:"id root"; content:"uid=0|28|root|29|"; sid:1;)
alert tcp any any -> any any (msg:"ssh brute"; flow:to_server,established; \
  content:"SSH-"; depth:4; sid:2;)
alert tcp any any -> any any (msg:"passwd"; content:"/etc/passwd"; nocase; sid:3;)
alert http any any -> any any (msg:"sqli"; http.uri; content:"union"; nocase; sid:4;)
alert tcp any any -> any any (msg:"pcre"; content:"USER "; pcre:"/^USER\s+root/m"; sid:5;)
alert tcp any any -> any 22 (msg:"syn"; flags:S; sid:6;)
`

// BenchmarkReplay measures one packet of the largest corpus capture
// (zeek-ssh-sshguess.pcap) through decode, reassembly and detection, with
// the default stream context and a small one (the engine's cost grows
// with the context it is handed).
func BenchmarkReplay(b *testing.B) {
	path := filepath.Join(testenv.Corpus(b), "pcaps", "zeek-ssh-sshguess.pcap")
	frames := load(b, path)
	for _, ctx := range []int{4096, 256} {
		b.Run(fmt.Sprintf("context=%d", ctx), func(b *testing.B) {
			benchReplay(b, frames, pipeline.Config{StreamContext: ctx})
		})
	}
}

func benchReplay(b *testing.B, frames []capture.Frame, cfg pipeline.Config) {
	insp := &inspector{engine: engine(b, benchRules)}
	w := pipeline.NewWorker(cfg, 0, insp)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(frames)
		if j == 0 {
			w.Close()
			insp.alerts = insp.alerts[:0]
		}
		f := &frames[j]
		w.HandleFrame(f.LinkType, f.Data, f.OrigLen, f.Time, f.Index)
	}
}

func load(b *testing.B, path string) []capture.Frame {
	r, err := capture.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	var frames []capture.Frame
	for {
		f, err := r.Next()
		if err == io.EOF {
			return frames
		}
		if err != nil {
			b.Fatal(err)
		}
		f.Data = append([]byte(nil), f.Data...)
		frames = append(frames, f)
	}
}
