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
			`threshold:type both, track by_dst, count 2, seconds 5; dsize:1<>9; flags:S+,C; sid:3;)`,
		`alert tcp any any -> any any (pcre:"/(?=x)/"; sid:4;)`,
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
