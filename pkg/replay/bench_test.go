package replay

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
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

// syntheticRules returns n content rules with random 8..15 byte patterns,
// like pkg/detect's benchmarks: every third nocase, every fifth with a
// second, relative content, and every fourth with a relative pcre (so the
// set has rules the stream prefilter must find anywhere in the context).
func syntheticRules(n int) string {
	rng := rand.New(rand.NewPCG(7, uint64(n)))
	const alpha = "abcdefghijklmnopqrstuvwxyz0123456789/._-"
	word := func() string {
		b := make([]byte, 8+rng.IntN(8))
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return string(b)
	}
	var sb strings.Builder
	for i := range n {
		opts := fmt.Sprintf(`content:"%s";`, word())
		if i%3 == 0 {
			opts += " nocase;"
		}
		if i%5 == 0 {
			opts += ` content:"zz"; distance:0; within:40;`
		}
		if i%4 == 0 {
			opts += ` pcre:"/^\s*[0-9]{2}/R";`
		}
		fmt.Fprintf(&sb, "alert tcp any any -> any any (msg:\"r%d\"; %s sid:%d;)\n",
			i, opts, i+1)
	}
	return sb.String()
}

// BenchmarkReplay measures one packet of the largest corpus capture
// (zeek-ssh-sshguess.pcap) through decode, reassembly and detection: the
// typical rules with the default stream context and a small one (the
// engine's cost grows with the context it is handed), and 1, 100 and
// 10,000 synthetic rules with the default context. An op is one packet;
// Mbit/s and packets/s are for the one core the benchmark runs on.
func BenchmarkReplay(b *testing.B) {
	path := filepath.Join(testenv.Corpus(b), "pcaps", "zeek-ssh-sshguess.pcap")
	frames, err := capture.ReadAll(path)
	if err != nil {
		b.Fatal(err)
	}
	for _, ctx := range []int{4096, 256} {
		b.Run(fmt.Sprintf("context=%d", ctx), func(b *testing.B) {
			benchReplay(b, frames, benchRules, pipeline.Config{StreamContext: ctx})
		})
	}
	for _, n := range []int{1, 100, 10000} {
		rules := syntheticRules(n)
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			benchReplay(b, frames, rules, pipeline.Config{})
		})
	}
}

func benchReplay(b *testing.B, frames []capture.Frame, rules string, cfg pipeline.Config) {
	insp := &inspector{engine: engine(b, rules)}
	w := pipeline.NewWorker(cfg, 0, insp)
	var before, after runtime.MemStats
	bytes := 0
	b.ReportAllocs()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(frames)
		if j == 0 {
			w.Close()
			insp.alerts = insp.alerts[:0]
		}
		f := &frames[j]
		bytes += f.OrigLen
		w.HandleFrame(f.LinkType, f.Data, f.OrigLen, f.Time, f.Index)
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(bytes)*8/1e6/sec, "Mbit/s")
	b.ReportMetric(float64(b.N)/sec, "packets/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N), "allocs/packet")
}
