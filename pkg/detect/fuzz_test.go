package detect

import (
	"net/netip"
	"testing"
)

func FuzzParseRule(f *testing.F) {
	for _, s := range []string{
		`alert tcp any any -> any any (msg:"x"; content:"a|00|b"; nocase; sid:1;)`,
		`drop http $HOME_NET any -> [1.2.3.4,!5.6.7.8] ![80:90] (http.uri; content:!"x"; ` +
			`endswith; pcre:"/a+b/iR"; flowbits:isset,a|b; sid:2;)`,
		`alert tcp any any -> any any (content:"a"; content:"b"; distance:-3; within:5; ` +
			`threshold:type both, track by_dst, count 2, seconds 5; dsize:1<>9; ` +
			`flags:S+,C; sid:3;)`,
		`alert tcp any any -> any any (pcre:"/(?=x)/"; sid:4;)`,
		`alert tcp any any -> any any (content:"a"; isdataat:!2,relative; http.uri; ` +
			`bsize:<9; urilen:1<>5,raw; sid:5;)`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		r, err := ParseRule(text)
		if err != nil {
			return
		}
		s := r.String()
		r2, err := ParseRule(s)
		if err != nil {
			t.Fatalf("String() output does not parse: %v\n%s", err, s)
		}
		if s2 := r2.String(); s2 != s {
			t.Fatalf("unstable:\n%s\n%s", s, s2)
		}
		rs := newRuleSet([]*Rule{r})
		e := NewEngine(rs, Options{})
		in := &Input{Flow: NewFlowState(), ToServer: true, Established: true,
			Src:     netip.MustParseAddrPort("10.0.0.1:1"),
			Dst:     netip.MustParseAddrPort("10.0.0.2:80"),
			Payload: []byte("GET /ab HTTP/1.1\r\nHost: x\r\n\r\n")}
		in.Stream, in.NewData = in.Payload, len(in.Payload)
		e.Inspect(in, func(Alert) {})
	})
}

// FuzzHTTPParser feeds arbitrary bytes, split at arbitrary points, to both
// directions of the HTTP parser through the engine; it must never panic.
func FuzzHTTPParser(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
		[]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), 7)
	f.Add([]byte("POST /x HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc"),
		[]byte("HTTP/1.0 200 OK\r\nContent-Encoding: gzip\r\n\r\n\x1f\x8b\x08"), 3)
	e := newTestEngine(f,
		`alert http any any -> any any (file_data; content:"hello"; sid:1;)`,
		`alert http any any -> any any (http.uri; content:"/"; http.header; content:"a"; sid:2;)`,
		`alert http any any -> any any (http.stat_code; content:"200"; sid:3;)`,
		`alert http any any -> any any (http.request_body; content:"abc"; sid:4;)`)
	f.Fuzz(func(t *testing.T, up, down []byte, cut int) {
		fs := NewFlowState()
		if cut < 1 {
			cut = 1
		}
		for i := 0; i < len(up) || i < len(down); i += cut {
			for _, dir := range []struct {
				data     []byte
				toServer bool
			}{{up, true}, {down, false}} {
				if i >= len(dir.data) {
					continue
				}
				in := pkt(fs, dir.toServer, string(dir.data[i:min(i+cut, len(dir.data))]))
				in.Flags |= FlagFIN * uint8(i%2)
				e.Inspect(in, func(Alert) {})
			}
		}
	})
}
