package detect

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// syntheticRules returns n content rules with random 8..15 byte patterns,
// every third nocase and every fifth with a second, relative content.
func syntheticRules(n int) []string {
	rng := rand.New(rand.NewPCG(7, uint64(n)))
	const alpha = "abcdefghijklmnopqrstuvwxyz0123456789/._-"
	word := func() string {
		b := make([]byte, 8+rng.IntN(8))
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return string(b)
	}
	rules := make([]string, n)
	for i := range rules {
		opts := fmt.Sprintf(`content:"%s";`, word())
		if i%3 == 0 {
			opts += " nocase;"
		}
		if i%5 == 0 {
			opts += ` content:"zz"; distance:0; within:40;`
		}
		rules[i] = fmt.Sprintf(`alert tcp any any -> any any (msg:"r%d"; %s sid:%d;)`,
			i, opts, i+1)
	}
	return rules
}

func benchPayload() []byte {
	rng := rand.New(rand.NewPCG(9, 9))
	var b strings.Builder
	b.WriteString("GET /index.html HTTP/1.1\r\nHost: www.example.com\r\n")
	for b.Len() < 1400 {
		fmt.Fprintf(&b, "X-H%d: %x\r\n", rng.IntN(1000), rng.Uint64())
	}
	return []byte(b.String())
}

func BenchmarkInspect(b *testing.B) {
	payload := benchPayload()
	for _, n := range []int{1, 100, 10000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			e := newTestEngine(b, syntheticRules(n)...)
			fs := NewFlowState()
			in := pkt(fs, true, "")
			in.Payload, in.Stream, in.NewData = payload, payload, len(payload)
			in.Src, in.Dst = cli, srv
			alerts := 0
			emit := func(Alert) { alerts++ }
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				e.Inspect(in, emit)
			}
		})
	}
}

// BenchmarkInspectNoPrefilter is the linear baseline: every rule is
// evaluated on every packet.
func BenchmarkInspectNoPrefilter(b *testing.B) {
	payload := benchPayload()
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			e := newTestEngine(b, syntheticRules(n)...)
			e.raw.always = e.raw.always[:0]
			for i := range e.rs.Rules {
				e.raw.always = append(e.raw.always, int32(i))
			}
			e.raw.ac, e.full.ac = nil, nil
			in := pkt(NewFlowState(), true, "")
			in.Payload, in.Stream, in.NewData = payload, payload, len(payload)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				e.Inspect(in, func(Alert) {})
			}
		})
	}
}

// BenchmarkInspectHTTP feeds one request and one response per iteration on
// a keep-alive flow, with 1000 http.uri rules and 1000 raw rules loaded.
func BenchmarkInspectHTTP(b *testing.B) {
	rules := syntheticRules(2000)
	for i := range 1000 {
		rules[i] = strings.Replace(rules[i], "(msg:", "(http.uri; msg:", 1)
	}
	e := newTestEngine(b, rules...)
	fs := NewFlowState()
	req := []byte("GET /index.html?q=abc HTTP/1.1\r\nHost: www.example.com\r\n" +
		"User-Agent: bench\r\n\r\n")
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
	up, down := pkt(fs, true, ""), pkt(fs, false, "")
	up.Payload, down.Payload = req, resp
	emit := func(Alert) {}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		e.Inspect(up, emit)
		e.Inspect(down, emit)
	}
}

// BenchmarkInspectStream inspects 1400 new bytes at the end of a 16 KiB
// stream window: single-pattern rules only scan the new bytes.
func BenchmarkInspectStream(b *testing.B) {
	p := benchPayload()
	stream := make([]byte, 0, 16<<10)
	for len(stream)+len(p) <= cap(stream) {
		stream = append(stream, p...)
	}
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			e := newTestEngine(b, syntheticRules(n)...)
			in := pkt(NewFlowState(), true, "")
			in.Payload, in.Stream, in.NewData = p, stream, len(p)
			b.SetBytes(int64(len(p)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				e.Inspect(in, func(Alert) {})
			}
		})
	}
}
