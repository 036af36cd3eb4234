package detect

import (
	"errors"
	"strings"
	"testing"
)

func mustRule(t testing.TB, text string) *Rule {
	t.Helper()
	r, err := ParseRule(text)
	if err != nil {
		t.Fatalf("parse %q: %v", text, err)
	}
	return r
}

func TestParseGood(t *testing.T) {
	tests := []struct {
		text      string
		action    Action
		proto     Proto
		sid, rev  uint32
		msg       string
		classtype string
		block     bool
	}{
		{`alert tcp any any -> any any (msg:"a \"q\" b"; sid:1; rev:2;)`,
			ActionAlert, ProtoTCP, 1, 2, `a "q" b`, "", false},
		{`drop ip $HOME_NET any -> $EXTERNAL_NET $HTTP_PORTS (sid:2;)`,
			ActionDrop, ProtoIP, 2, 0, "", "", true},
		{`reject http [10.0.0.0/8,!10.1.0.0/16] ![1:1023] <> any 80 (sid:3; ` +
			`classtype:bad-unknown; metadata:a b; reference:url,x; priority:1;)`,
			ActionReject, ProtoHTTP, 3, 0, "", "bad-unknown", true},
		{`pass tcp-pkt any any -> any any (content:"a|3b 3A|\;\:\\"; sid:4;)`,
			ActionPass, ProtoTCPPkt, 4, 0, "", "", false},
		{`alert tcp-stream any any -> any any (content:!"x"; sid:5;)`,
			ActionAlert, ProtoTCPStream, 5, 0, "", "", false},
	}
	for _, tt := range tests {
		r := mustRule(t, tt.text)
		if r.Action != tt.action || r.Proto != tt.proto || r.SID != tt.sid ||
			r.Rev != tt.rev || r.Msg != tt.msg || r.Classtype != tt.classtype ||
			r.IsBlock() != tt.block {
			t.Errorf("%q: got action %v proto %v sid %d rev %d msg %q class %q block %v",
				tt.text, r.Action, r.Proto, r.SID, r.Rev, r.Msg, r.Classtype, r.IsBlock())
		}
	}
}

func TestParseContentBytes(t *testing.T) {
	r := mustRule(t, `alert tcp any any -> any any (content:"a|3b 3A|\;\:\\\""; sid:4;)`)
	got := string(r.chains[0].items[0].pat)
	if want := `a;:;:\"`; got != want {
		t.Errorf("content bytes = %q, want %q", got, want)
	}
}

func TestParseBad(t *testing.T) {
	tests := []struct {
		text, want string
		sentinel   error
	}{
		{`alert tcp any any -> any any (msg:"x"; byte_test:1,>,2,0; sid:5;)`,
			`sid 5: unsupported keyword "byte_test"`, ErrUnsupported},
		{`alert udp any any -> any any (sid:6;)`,
			`sid 6: unsupported protocol "udp"`, ErrUnsupported},
		{`alert tcp any any -> any any (msg:"x";)`, `missing sid`, ErrSyntax},
		{`alert tcp any any -> any any (content:"abc"; depth:2; sid:7;)`,
			`sid 7: depth 2 is shorter than content length 3`, ErrSyntax},
		{`alert tcp any any -> any any (nocase; content:"a"; sid:8;)`,
			`sid 8: "nocase" needs a preceding content`, ErrSyntax},
		{`alert tcp any any -> any any (content:"a|4|"; sid:9;)`,
			`sid 9: odd number of hex digits at 3`, ErrSyntax},
		{`alert tcp any any -> any any (content:"a\x"; sid:10;)`,
			`sid 10: bad escape at 1`, ErrSyntax},
		{`alert tcp any any -> any any (pcre:"/a(?=b)/"; sid:11;)`,
			`sid 11: pcre: lookahead "(?=" is not RE2-compatible`, ErrUnsupported},
		{`alert tcp any any -> any any (pcre:"/(a)\1/"; sid:12;)`,
			`sid 12: pcre: backreference "\1" is not RE2-compatible`, ErrUnsupported},
		{`alert tcp $NOPE any -> any any (sid:13;)`,
			`sid 13: source address: undefined variable "$NOPE"`, ErrSyntax},
		{`alert tcp any any => any any (sid:14;)`,
			`sid 14: bad direction "=>" (want -> or <>)`, ErrSyntax},
		{`alert tcp any 70000 -> any any (sid:15;)`,
			`sid 15: source port: bad port "70000"`, ErrSyntax},
		{`alert tcp any any -> any any (flow:sideways; sid:16;)`,
			`sid 16: flow: unsupported option "sideways"`, ErrUnsupported},
		{`alert tcp any any -> any any (dsize:5<>2; sid:17;)`,
			`sid 17: dsize: bad range "5<>2"`, ErrSyntax},
		{`alert tcp any any -> any any (threshold:type limit, count 1; sid:18;)`,
			`sid 18: threshold: missing "track"`, ErrSyntax},
		{`alert tcp any any -> any any (content:"x"; sid:19)`,
			`option "sid:19" is not terminated by ';'`, ErrSyntax},
		{`alert tcp any any -> any any sid:20;`,
			`rule must end with an option list in parentheses`, ErrSyntax},
		{`alert tcp any any -> any any (content:"ab"; startswith; offset:1; sid:21;)`,
			`sid 21: startswith cannot be combined with offset, depth, distance or within`,
			ErrSyntax},
		{`alert tcp any any -> any any (pcre:"/a/e"; sid:22;)`,
			`sid 22: pcre: unsupported flag 'e'`, ErrUnsupported},
		{`alert tcp any any -> any any (pcre:"/\xff/"; sid:23;)`,
			`sid 23: pcre: byte escape "\xff" above \x7f is not RE2-compatible`,
			ErrUnsupported},
	}
	for _, tt := range tests {
		_, err := ParseRule(tt.text)
		if err == nil {
			t.Errorf("%q: parsed, want error %q", tt.text, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("%q:\n got  %q\n want %q", tt.text, err.Error(), tt.want)
		}
		if !errors.Is(err, tt.sentinel) {
			t.Errorf("%q: error %v does not wrap %v", tt.text, err, tt.sentinel)
		}
	}
}

func TestLoadReaderSkips(t *testing.T) {
	src := strings.Join([]string{
		"# comment",
		"",
		`alert tcp any any -> any any (content:"a"; sid:1;)`,
		`alert tcp any any -> any any (content:"b"; \`,
		`   sid:2;)`,
		`alert tcp any any -> any any (byte_test:1,>,2,0; sid:5;)`,
		`alert tcp any any -> any any (content:"c"; sid:1;)`,
		`   # indented comment`,
		`alert tcp any any -> any any (content:"d"; sid:6;)`,
		`alert tcp any any -> any any (content:"e"; detection_filter:track by_src, ` +
			`count 2, seconds 10; sid:7;)`,
		`alert tcp any any -> any any (content:"x"; \`,
	}, "\n")
	rs, skipped, err := LoadReader("rules.rules", strings.NewReader(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	var sids []uint32
	for _, r := range rs.Rules {
		sids = append(sids, r.SID)
	}
	if got := len(sids); got != 4 {
		t.Errorf("loaded sids %v, want [1 2 6 7]", sids)
	}
	want := []string{
		`rules.rules:6: sid 5: unsupported keyword "byte_test"`,
		`rules.rules:11: rule continues past end of file`,
		`rules.rules:7: sid 1: duplicate sid (first at rules.rules:3)`,
	}
	if len(skipped) != len(want) {
		t.Fatalf("skipped %v, want %v", skipped, want)
	}
	for i, s := range skipped {
		if s.Error() != want[i] {
			t.Errorf("skip %d = %q, want %q", i, s.Error(), want[i])
		}
	}
	if skipped[0].Keyword != "byte_test" || skipped[0].Line != 6 || skipped[0].SID != 5 {
		t.Errorf("skip fields = %+v", skipped[0])
	}
	for _, r := range rs.Rules {
		if r.SID == 2 && r.Line != 4 {
			t.Errorf("multi-line rule line = %d, want 4", r.Line)
		}
	}
}

// TestF9BlockActions: reject and drop rules are block actions, alert and
// pass are not, so the pipeline injects RSTs for exactly the former.
func TestF9BlockActions(t *testing.T) {
	for _, tt := range []struct {
		text  string
		block bool
	}{
		{`reject tcp any any -> 198.51.100.20 443 (content:"/evil"; sid:1;)`, true},
		{`alert tcp any any -> 198.51.100.20 443 (content:"/evil"; sid:2;)`, false},
		{`drop tcp any any -> 198.51.100.20 443 (content:"/evil"; sid:3;)`, true},
		{`pass tcp any any -> 198.51.100.20 443 (content:"/evil"; sid:4;)`, false},
		{`rejectboth tcp any any -> any any (sid:5;)`, true},
	} {
		if got := mustRule(t, tt.text).IsBlock(); got != tt.block {
			t.Errorf("%q: IsBlock = %v, want %v", tt.text, got, tt.block)
		}
	}
}

func TestStringRoundTrip(t *testing.T) {
	texts := []string{
		`alert tcp any any -> any any (msg:"x;y"; content:"a\;b"; nocase; sid:1;)`,
		`drop http [1.2.3.4, 5.6.7.0/24] any <> !$HOME_NET [80,8080] (http.uri; ` +
			`content:"/a"; startswith; sid:2; rev:3;)`,
	}
	for _, text := range texts {
		r := mustRule(t, text)
		s := r.String()
		r2 := mustRule(t, s)
		if r2.String() != s {
			t.Errorf("not stable:\n %s\n %s", s, r2.String())
		}
	}
}
