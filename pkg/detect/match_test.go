package detect

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	cli = netip.MustParseAddrPort("192.168.1.5:41424")
	srv = netip.MustParseAddrPort("198.51.100.20:80")
)

func newTestEngine(t testing.TB, rules ...string) *Engine {
	t.Helper()
	rs, skipped, err := LoadReader("t.rules", strings.NewReader(strings.Join(rules, "\n")), nil)
	if err != nil || len(skipped) > 0 {
		t.Fatalf("load: %v %v", err, skipped)
	}
	return NewEngine(rs, Options{})
}

// sids inspects in and returns the sids that alerted, in order.
func sids(e *Engine, in *Input) []uint32 {
	var out []uint32
	e.Inspect(in, func(a Alert) { out = append(out, a.Rule.SID) })
	return out
}

func pkt(fs *FlowState, toServer bool, payload string) *Input {
	in := &Input{Flow: fs, Src: cli, Dst: srv, ToServer: toServer, Established: true,
		Flags: FlagACK | FlagPSH, Payload: []byte(payload)}
	if !toServer {
		in.Src, in.Dst = srv, cli
	}
	return in
}

// payloadCase is a rule's options, a payload sent to the server and
// whether the rule alerts on it.
type payloadCase struct {
	opts    string
	payload string
	want    bool
}

// checkPayloads runs each case through a one-rule engine on a fresh flow.
func checkPayloads(t *testing.T, tests []payloadCase) {
	t.Helper()
	for _, tt := range tests {
		e := newTestEngine(t, `alert tcp any any -> any any (`+tt.opts+` sid:1;)`)
		got := len(sids(e, pkt(NewFlowState(), true, tt.payload))) == 1
		if got != tt.want {
			t.Errorf("(%s) on %q: match = %v, want %v", tt.opts, tt.payload, got, tt.want)
		}
	}
}

func TestContentModifiers(t *testing.T) {
	checkPayloads(t, []payloadCase{
		{`content:"abc";`, "xxabcxx", true},
		{`content:"ABC";`, "xxabcxx", false},
		{`content:"ABC"; nocase;`, "xxabcxx", true},
		{`content:"|61 62|c";`, "abc", true},
		{`content:"abc"; offset:2;`, "abcabc", true},
		{`content:"abc"; offset:4;`, "abcabc", false},
		{`content:"abc"; depth:3;`, "abcxxx", true},
		{`content:"abc"; depth:3;`, "xabcxx", false},
		{`content:"abc"; offset:1; depth:3;`, "xabcxx", true},
		{`content:"abc"; startswith;`, "abcxx", true},
		{`content:"abc"; startswith;`, "xabc", false},
		{`content:"abc"; endswith;`, "xxabc", true},
		{`content:"abc"; endswith;`, "xxabcx", false},
		{`content:"abc"; nocase; endswith;`, "xxABC", true},
		{`content:!"abc";`, "xxabx", true},
		{`content:!"abc";`, "xxabcx", false},
		{`content:"a"; content:"b"; distance:1;`, "ab", false},
		{`content:"a"; content:"b"; distance:1;`, "axb", true},
		{`content:"a"; content:"b"; within:1;`, "axb", false},
		{`content:"a"; content:"b"; within:1;`, "ab", true},
		{`content:"a"; content:"b"; distance:-1; within:2;`, "ba", false},
		{`content:"ab"; content:"b"; distance:-1; within:1;`, "ab", true},
		// backtracking: first "a" fails the relative check, the second passes
		{`content:"a"; content:"b"; distance:0; within:1;`, "a a ab", true},
		{`content:"x"; content:"a"; content:"b"; within:1;`, "x a ab", true},
		// negated relative content backtracks over the earlier match
		{`content:"a"; content:!"b"; within:1;`, "ab ac", true},
		{`content:"a"; content:!"b"; within:1;`, "ab ab", false},
		// bug-docs-5030: within counts from prev+distance, endswith anchors
		{`content:"yYYYYYYYYYYYYYYYY"; distance:9; within:29; endswith;`,
			strings.Repeat("x", 18) + "yYYYYYYYYYYYYYYYY", true},
		{`content:"yYYYYYYYYYYYYYYYY"; distance:9; within:29; endswith;`,
			strings.Repeat("x", 22) + "yYYYYYYYYYYYYYYYY", false},
		{`content:"AllWorkAndNoPlayMakesWill"; content:"DullBoy"; distance:1; within:7;`,
			"AllWorkAndNoPlayMakesWill DullBoy", true},
		{`content:"AllWorkAndNoPlayMakesWill"; content:"DullBoy"; distance:1; within:7;`,
			"AllWorkAndNoPlayMakesWill  DullBoy", false},
		{`content:"abcdefgh"; fast_pattern; content:"zz";`, "abcdefgh zz", true},
		{`content:"abcdefgh"; fast_pattern:2,3; content:"zz";`, "abcdefgh zz", true},
		{`dsize:3;`, "abc", true},
		{`dsize:<3;`, "abc", false},
		{`dsize:2<>4;`, "abc", true},
		{`dsize:!3;`, "abc", false},
		{`dsize:>=3; content:"b";`, "abc", true},
	})
}

func TestPCRE(t *testing.T) {
	const req = "GET /one/ HTTP/1.1\r\nHost: one.example.org\r\n\r\n\r\n" +
		"GET /two/ HTTP/1.1\r\nHost: two.example.org\r\n\r\n\r\n"
	checkPayloads(t, []payloadCase{
		{`pcre:"/^gEt/i";`, req, true},
		{`pcre:"/^gEt/";`, req, false},
		{`pcre:"/two/O";`, req, true},
		{`content:"GET"; pcre:!"/two/";`, req, false},
		{`content:"GET"; pcre:!"/three/";`, req, true},
		{`content:"one"; pcre:"/^\//R";`, req, true},
		{`content:"one"; pcre:"/^ HTTP/R";`, req, false},
		{`pcre:"/a b [ ]c/x";`, "ab c", true},
		{`pcre:"/^a.c$/s";`, "a\nc", true},
		{`pcre:"/^b$/m";`, "a\nb\nc", true},
	})
}

// TestDetectPCRE03 replays the single packet of suricata-verify
// detect-pcre-03 (two pipelined GETs): sids 1 and 2 alert, 3 does not.
func TestDetectPCRE03(t *testing.T) {
	e := newTestEngine(t,
		`alert tcp any any -> any any (msg:"HTTP TEST"; pcre:"/^gEt/i"; pcre:"/\/two\//U"; `+
			`pcre:"/GET \/two\//"; pcre:"/\s+HTTP/R"; sid:1;)`,
		`alert tcp any any -> any any (msg:"HTTP TEST"; pcre:"/two/O"; sid:2;)`,
		`alert tcp any any -> any any (content:"GET"; pcre:!"/two/"; sid:3;)`)
	in := pkt(NewFlowState(), true, "GET /one/ HTTP/1.1\r\nHost: one.example.org\r\n\r\n\r\n"+
		"GET /two/ HTTP/1.1\r\nHost: two.example.org\r\n\r\n\r\n")
	got := sids(e, in)
	slices.Sort(got)
	if !slices.Equal(got, []uint32{1, 2}) {
		t.Errorf("alerts %v, want [1 2]", got)
	}
}

func TestHeaderMatching(t *testing.T) {
	tests := []struct {
		header string
		want   bool
	}{
		{`tcp any any -> any any`, true},
		{`tcp 192.168.0.0/16 any -> any 80`, true},
		{`tcp $HOME_NET any -> $EXTERNAL_NET $HTTP_PORTS`, true},
		{`tcp $EXTERNAL_NET any -> any any`, false},
		{`tcp any any -> any !80`, false},
		{`tcp any any -> any [1:79,81:]`, false},
		{`tcp any any -> any [1:80]`, true},
		{`tcp any 80 <> any any`, true},
		{`tcp any 80 -> any any`, false},
		{`tcp [192.168.0.0/16,!192.168.1.5] any -> any any`, false},
		{`tcp ![10.0.0.0/8,172.16.0.0/12] any -> any any`, true},
		{`tcp any any -> 2001:db8::/32 any`, false},
	}
	for _, tt := range tests {
		e := newTestEngine(t, `alert `+tt.header+` (content:"x"; sid:1;)`)
		got := len(sids(e, pkt(NewFlowState(), true, "x"))) == 1
		if got != tt.want {
			t.Errorf("%s: match = %v, want %v", tt.header, got, tt.want)
		}
	}
}

func TestFlowAndFlags(t *testing.T) {
	tests := []struct {
		opts        string
		toServer    bool
		established bool
		flags       uint8
		want        bool
	}{
		{`flow:to_server,established;`, true, true, FlagACK, true},
		{`flow:to_server,established;`, true, false, FlagACK, false},
		{`flow:from_server;`, true, true, FlagACK, false},
		{`flow:to_client;`, false, true, FlagACK, true},
		{`flow:not_established;`, true, false, FlagSYN, true},
		{`flags:SA;`, false, false, FlagSYN | FlagACK, true},
		{`flags:S;`, false, false, FlagSYN | FlagACK, false},
		{`flags:S+;`, false, false, FlagSYN | FlagACK, true},
		{`flags:S,A;`, false, false, FlagSYN | FlagACK, true},
		{`flags:*FR;`, true, true, FlagRST | FlagACK, true},
		{`flags:!R;`, true, true, FlagRST | FlagACK, false},
	}
	for _, tt := range tests {
		e := newTestEngine(t, `alert tcp any any -> any any (`+tt.opts+` sid:1;)`)
		in := pkt(NewFlowState(), tt.toServer, "")
		in.Established, in.Flags = tt.established, tt.flags
		if got := len(sids(e, in)) == 1; got != tt.want {
			t.Errorf("%s: match = %v, want %v", tt.opts, got, tt.want)
		}
	}
}

// TestStreamAlertsOnce: a pattern split over two segments matches in the
// stream window once, when its last byte arrives, and not again later.
func TestStreamAlertsOnce(t *testing.T) {
	e := newTestEngine(t, `alert tcp any any -> any any (content:"EVIL"; sid:1;)`,
		`alert tcp-pkt any any -> any any (content:"EVIL"; sid:2;)`,
		`alert tcp-stream any any -> any any (content:"EVIL"; sid:3;)`)
	fs := NewFlowState()
	var stream []byte
	var got []uint32
	for _, seg := range []string{"xxEV", "IL yy", "zz"} {
		stream = append(stream, seg...)
		in := pkt(fs, true, seg)
		in.Stream, in.NewData = stream, len(seg)
		got = append(got, sids(e, in)...)
	}
	if !slices.Equal(got, []uint32{1, 3}) {
		t.Errorf("alerts %v, want [1 3] (stream rules once, packet rule never)", got)
	}
	in := pkt(fs, true, "EVIL")
	stream = append(stream, "EVIL"...)
	in.Stream, in.NewData = stream, 4
	got = sids(e, in)
	slices.Sort(got)
	if !slices.Equal(got, []uint32{1, 2, 3}) {
		t.Errorf("whole-packet pattern: alerts %v, want [1 2 3]", got)
	}
}

// TestDistanceWithinTwice mirrors alert-distance-within-1: the pattern
// occurs twice in the stream and alerts twice.
func TestDistanceWithinTwice(t *testing.T) {
	e := newTestEngine(t, `alert tcp any any -> any any (content:"AllWorkAndNoPlayMakesWill"; `+
		`content:"DullBoy"; distance:1; within:7; sid:2;)`)
	fs := NewFlowState()
	var stream []byte
	n := 0
	for _, seg := range []string{"AllWorkAndNoPlayMakesWill Dull", "Boy\n",
		"AllWorkAndNoPlayMakesWill DullBoy\n", "tail"} {
		stream = append(stream, seg...)
		in := pkt(fs, true, seg)
		in.Stream, in.NewData = stream, len(seg)
		n += len(sids(e, in))
	}
	if n != 2 {
		t.Errorf("alerts = %d, want 2", n)
	}
}

// TestDetectFlowbits replays suricata-verify detect-flowbits: one packet,
// eleven rules whose outcome depends on evaluation order.
func TestDetectFlowbits(t *testing.T) {
	e := newTestEngine(t,
		`alert ip any any -> any any (msg:"Flowbit set"; flowbits:set,fb1; sid:1;)`,
		`alert ip any any -> any any (msg:"Flowbit set"; flowbits:set,fb2; sid:2;)`,
		`alert ip any any -> any any (flowbits:isset,fb3|fb4; sid:3;)`,
		`alert ip any any -> any any (flowbits:isset,fb1|fb5; sid:5;)`,
		`alert ip any any -> any any (flowbits:isnotset, fb1|fb2 ; sid:6;)`,
		`alert ip any any -> any any (flowbits:unset,fb1; sid:7;)`,
		`alert ip any any -> any any (flowbits:noalert; flowbits:isnotset,fb1; `+
			`flowbits:set,fb1; content:"GET "; sid:8;)`,
		`alert ip any any -> any any (flowbits:isset,fb1; sid:9;)`,
		`alert ip any any -> any any (flowbits:noalert; content:"GET "; sid:10;)`,
		`alert ip any any -> any any (flowbits:isset,fbt; content:"GET "; sid:11;)`,
		`alert ip any any -> any any (flowbits:isset,fb1; flowbits:isset,fb2; sid:12;)`)
	in := pkt(NewFlowState(), true, "GET /one/ HTTP/1.1\r\nHost: one.example.org\r\n\r\n")
	got := sids(e, in)
	slices.Sort(got)
	if want := []uint32{1, 2, 5, 7, 9, 12}; !slices.Equal(got, want) {
		t.Errorf("alerts %v, want %v", got, want)
	}
}

// TestBug1045Flowbits follows the SMTP set/isset/unset chain across packets.
func TestBug1045Flowbits(t *testing.T) {
	e := newTestEngine(t,
		`alert tcp any any -> any 25 (flow:to_server,established; content:"EHLO "; `+
			`flowbits:set,smtp.helo.found; sid:1;)`,
		`alert tcp any any -> any 25 (flow:to_server,established; `+
			`flowbits:isset,smtp.helo.found; content:"DATA"; `+
			`flowbits:unset,smtp.helo.found; flowbits:set,smtp.data.found; sid:2;)`,
		`alert tcp any any -> any 25 (flow:to_server,established; `+
			`flowbits:isset,smtp.data.found; content:"Subject|3A| test email"; sid:3;)`)
	fs := NewFlowState()
	var got []uint32
	for _, p := range []string{"DATA\r\n", "EHLO x\r\n", "MAIL FROM:<a>\r\n", "DATA\r\n",
		"Subject: test email\r\n", "DATA\r\n"} {
		in := pkt(fs, true, p)
		in.Dst = netip.MustParseAddrPort("188.125.69.79:25")
		got = append(got, sids(e, in)...)
	}
	if !slices.Equal(got, []uint32{1, 2, 3}) {
		t.Errorf("alerts %v, want [1 2 3]", got)
	}
}

// TestPassAction mirrors util-action-03/-08/-10: a matching pass rule
// silences every alert of its packet, and only of its packet.
func TestPassAction(t *testing.T) {
	tests := []struct {
		rules    []string
		payloads []string
		want     []uint32
	}{
		{[]string{`alert ip any any -> any any (content:"Hi all"; sid:1;)`,
			`pass ip any any -> any any (content:"wo"; sid:2;)`,
			`alert ip any any -> any any (content:"Hi all"; sid:3;)`},
			[]string{"Hi all!", "Hi all wo!", "Hi all!"}, []uint32{1, 3, 1, 3}},
		{[]string{`alert tcp any any -> any any (sid:1;)`,
			`pass tcp any any -> any any (content:"Hi all"; sid:2;)`,
			`drop tcp any any -> any any (sid:3;)`},
			[]string{"Hi all!", "Hi all!", "Hi all!"}, nil},
		{[]string{`pass tcp any any -> any any (sid:1;)`,
			`drop tcp any any -> any any (content:"Hi all"; sid:2;)`,
			`alert tcp any any -> any any (sid:3;)`},
			[]string{"Hi all!", "Hi all!", "Hi all!"}, nil},
	}
	for i, tt := range tests {
		e := newTestEngine(t, tt.rules...)
		fs := NewFlowState()
		var got []uint32
		for _, p := range tt.payloads {
			got = append(got, sids(e, pkt(fs, true, p))...)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("case %d: alerts %v, want %v", i, got, tt.want)
		}
	}
}

func TestDsizeValues(t *testing.T) {
	e := newTestEngine(t,
		`alert tcp any any -> any any (dsize:10; sid:1;)`,
		`alert tcp any any -> any any (dsize:<10; sid:2;)`,
		`alert tcp any any -> any any (dsize:<=10; sid:3;)`,
		`alert tcp any any -> any any (dsize:>8; sid:4;)`,
		`alert tcp any any -> any any (dsize:>=10; sid:5;)`,
		`alert tcp any any -> any any (dsize:8<>20; sid:6;)`,
		`alert tcp any any -> any any (dsize:!9; sid:7;)`)
	count := map[uint32]int{}
	for _, n := range []int{0, 1, 5, 9, 10} {
		for _, s := range sids(e, pkt(NewFlowState(), true, strings.Repeat("a", n))) {
			count[s]++
		}
	}
	// dsize:!9 needs a payload, as in Suricata (test-dsize-values)
	want := map[uint32]int{1: 1, 2: 4, 3: 5, 4: 2, 5: 1, 6: 2, 7: 3}
	for s, n := range want {
		if count[s] != n {
			t.Errorf("sid %d: %d alerts, want %d", s, count[s], n)
		}
	}
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestThresholds(t *testing.T) {
	tests := []struct {
		opt  string
		want string // one char per match: 1 alert, 0 none
	}{
		{`threshold:type limit, track by_src, count 2, seconds 60;`, "1100000000"},
		{`threshold:type threshold, track by_src, count 3, seconds 60;`, "0010010010"},
		{`threshold:type both, track by_src, count 3, seconds 60;`, "0010000000"},
		{`detection_filter:track by_src, count 3, seconds 60;`, "0001111111"},
		{`threshold:type limit, track by_flow, count 1, seconds 60;`, "1000000000"},
		{`threshold:type limit, track by_rule, count 1, seconds 60;`, "1000000000"},
	}
	for _, tt := range tests {
		clk := &fakeClock{t: time.Unix(1000, 0)}
		rs, _, err := LoadReader("t", strings.NewReader(
			`alert tcp any any -> any any (content:"x"; `+tt.opt+` sid:1;)`), nil)
		if err != nil || len(rs.Rules) != 1 {
			t.Fatalf("%s: load failed: %v", tt.opt, err)
		}
		e := NewEngine(rs, Options{Now: clk.now})
		fs := NewFlowState()
		var got strings.Builder
		for range 10 {
			got.WriteByte('0' + byte(len(sids(e, pkt(fs, true, "x")))))
			clk.advance(time.Second)
		}
		if got.String() != tt.want {
			t.Errorf("%s: %s, want %s", tt.opt, got.String(), tt.want)
		}
	}
}

func TestThresholdWindowAndTracking(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	rs, _, _ := LoadReader("t", strings.NewReader(`alert tcp any any -> any any `+
		`(flags:S; detection_filter:track by_src, count 2, seconds 10; sid:1;)`), nil)
	e := NewEngine(rs, Options{Now: clk.now})
	syn := func(src string) int {
		in := pkt(nil, true, "")
		in.Src, in.Flags = netip.MustParseAddrPort(src), FlagSYN
		return len(sids(e, in))
	}
	var got []int
	for range 3 {
		got = append(got, syn("203.0.113.1:1000"))
	}
	got = append(got, syn("203.0.113.2:1000")) // other source: own count
	clk.advance(11 * time.Second)
	got = append(got, syn("203.0.113.1:1000")) // window expired: count restarts
	if want := []int{0, 0, 1, 0, 0}; !slices.Equal(got, want) {
		t.Errorf("alerts %v, want %v", got, want)
	}
}

func TestTrackerBounded(t *testing.T) {
	tr := newTracker(4)
	l := &limiter{kind: 'l', count: 1, seconds: 60}
	now := time.Unix(0, 0)
	for i := range 100 {
		a := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		if !tr.step(l, thrKey{a: a}, now) {
			t.Fatalf("first match of a new key %v suppressed", a)
		}
	}
	if len(tr.m) > 4 {
		t.Errorf("tracker holds %d entries, bound is 4", len(tr.m))
	}
}

// TestThresholdConfig mirrors the threshold-config-*-flow tests: the
// config file, not the rule, sets a by_flow limit or threshold.
func TestThresholdConfig(t *testing.T) {
	tests := []struct {
		conf string
		want int
	}{
		{"threshold gen_id 1, sig_id 1000001, type limit, track by_flow, count 1, seconds 60", 1},
		{"threshold gen_id 1, sig_id 1000001, type threshold, track by_flow, count 5, " +
			"seconds 60", 3},
		{"# none\n\nsuppress gen_id 1, sig_id 1000001", 0},
		{"suppress gen_id 1, sig_id 1000001, track by_src, ip 192.168.0.0/16", 0},
		{"suppress gen_id 1, sig_id 1000001, track by_dst, ip 192.168.0.0/16", 17},
		{"event_filter gen_id 0, sig_id 0, type both, track by_src, count 2, seconds 60", 1},
	}
	for _, tt := range tests {
		rs, _, _ := LoadReader("r", strings.NewReader(
			`alert tcp any any -> any any (dsize:0; sid: 1000001;)`), nil)
		skipped, err := rs.ApplyThresholdConfig("threshold.config",
			strings.NewReader(tt.conf), nil)
		if err != nil || len(skipped) != 0 {
			t.Fatalf("%q: %v %v", tt.conf, err, skipped)
		}
		e := NewEngine(rs, Options{Now: (&fakeClock{t: time.Unix(5, 0)}).now})
		fs, n := NewFlowState(), 0
		for range 17 {
			n += len(sids(e, pkt(fs, true, "")))
		}
		if n != tt.want {
			t.Errorf("%q: %d alerts, want %d", tt.conf, n, tt.want)
		}
	}
}

func TestThresholdConfigErrors(t *testing.T) {
	rs, _, _ := LoadReader("r", strings.NewReader(
		`alert tcp any any -> any any (dsize:0; sid:1;)`), nil)
	skipped, err := rs.ApplyThresholdConfig("t.config", strings.NewReader(
		"rate_filter gen_id 1, sig_id 1, track by_src, count 1, seconds 1, "+
			"new_action drop, timeout 10\nthreshold gen_id 1, sig_id 9, type limit, "+
			"track by_src, count 1, seconds 1\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`t.config:1: unsupported threshold.config directive "rate_filter"`,
		`t.config:2: sid 9: threshold: no rule with sid 9`,
	}
	if len(skipped) != 2 || skipped[0].Error() != want[0] || skipped[1].Error() != want[1] {
		t.Errorf("skipped %v, want %q", skipped, want)
	}
}

func TestFlowbitsToggleAndNoalert(t *testing.T) {
	e := newTestEngine(t,
		`alert tcp any any -> any any (content:"t"; flowbits:toggle,x; flowbits:noalert; sid:1;)`,
		`alert tcp any any -> any any (content:"q"; flowbits:isset,x; sid:2;)`,
		`alert tcp any any -> any any (content:"q"; flowbits:isnotset,x; sid:3;)`)
	fs := NewFlowState()
	var got []uint32
	for _, p := range []string{"q", "t", "q", "t", "q", "tq"} {
		got = append(got, sids(e, pkt(fs, true, p))...)
	}
	// the toggle runs before the readers within one packet ("tq")
	if want := []uint32{3, 2, 3, 2}; !slices.Equal(got, want) {
		t.Errorf("alerts %v, want %v", got, want)
	}
	if other := sids(e, pkt(NewFlowState(), true, "q")); !slices.Equal(other, []uint32{3}) {
		t.Errorf("flowbits leaked between flows: %v", other)
	}
}

func TestFastPatternChoice(t *testing.T) {
	tests := []struct {
		opts string
		want string
	}{
		{`content:"ab"; content:"LONGEST"; content:"mid";`, "longest"},
		{`content:"ab"; fast_pattern; content:"LONGEST";`, "ab"},
		{`content:"abcdefgh"; fast_pattern:2,3;`, "cde"},
		{`content:!"negated"; content:"x";`, "x"},
		{`content:!"negated";`, ""},
		{`pcre:"/abc/";`, ""},
	}
	for _, tt := range tests {
		r := mustRule(t, `alert tcp any any -> any any (`+tt.opts+` sid:1;)`)
		if got := string(r.fp.pat); got != tt.want || r.fp.ok != (tt.want != "") {
			t.Errorf("%s: fast pattern %q (ok %v), want %q", tt.opts, got, r.fp.ok, tt.want)
		}
	}
}

// TestConcurrentFlows runs one engine from several goroutines, each with
// its own flow; run with -race to check the shared parts.
func TestConcurrentFlows(t *testing.T) {
	e := newTestEngine(t,
		`alert tcp any any -> any any (content:"EVIL"; flowbits:set,seen; sid:1;)`,
		`alert tcp any any -> any any (content:"x"; flowbits:isset,seen; `+
			`detection_filter:track by_dst, count 1, seconds 60; sid:2;)`,
		`alert http any any -> any any (http.uri; content:"/a"; sid:3;)`)
	done := make(chan []uint32)
	for range 4 {
		go func() {
			fs := NewFlowState()
			var got []uint32
			for _, p := range []string{"GET /a HTTP/1.1\r\n\r\n", "EVIL", "x", "x"} {
				got = append(got, sids(e, pkt(fs, true, p))...)
			}
			done <- got
		}()
	}
	sid2 := 0
	for range 4 {
		got := <-done
		if len(got) < 2 || got[0] != 3 || got[1] != 1 {
			t.Errorf("flow alerts %v, want [3 1 ...]", got)
		}
		for _, s := range got {
			if s == 2 {
				sid2++
			}
		}
	}
	// by_dst is shared by all four flows (same server): 8 matches, first one held back
	if sid2 != 7 {
		t.Errorf("sid 2 alerted %d times across flows, want 7", sid2)
	}
}

func TestAppLayerProtocolAndNoalert(t *testing.T) {
	e := newTestEngine(t,
		`alert tcp any any -> any any (app-layer-protocol:http; content:"x"; sid:1;)`,
		`alert tcp any any -> any any (app-layer-protocol:!http; content:"x"; sid:2;)`,
		`alert tcp any any -> any any (content:"x"; noalert; sid:3;)`)
	if got := sids(e, pkt(NewFlowState(), true, "x")); !slices.Equal(got, []uint32{2}) {
		t.Errorf("non-HTTP flow: %v, want [2]", got)
	}
	got := sids(e, pkt(NewFlowState(), true, "GET /x HTTP/1.1\r\n\r\n"))
	if !slices.Equal(got, []uint32{1}) {
		t.Errorf("HTTP flow: %v, want [1]", got)
	}
	_, err := ParseRule(`alert tcp any any -> any any (app-layer-protocol:tls; sid:4;)`)
	if err == nil || err.Error() != `sid 4: app-layer-protocol: unsupported protocol "tls"` {
		t.Errorf("tls: err = %v", err)
	}
}

func TestIsdataatBsizeUrilen(t *testing.T) {
	checkPayloads(t, []payloadCase{
		{`content:"ab"; isdataat:2,relative;`, "abxy", false},
		{`content:"ab"; isdataat:1,relative;`, "abxy", true},
		{`content:"ab"; isdataat:!1,relative;`, "abx", true},
		{`content:"ab"; isdataat:!1,relative;`, "abxy", false},
		{`isdataat:3; content:"a";`, "abcd", true},
		{`isdataat:4; content:"a";`, "abcd", false},
		// the relative check backtracks to the later "ab"
		{`content:"ab"; isdataat:!1,relative;`, "abxx ab", true},
		{`http.uri; bsize:7;`, "GET /a.html HTTP/1.1\r\n\r\n", true},
		{`http.uri; content:"/a"; bsize:<7;`, "GET /a.html HTTP/1.1\r\n\r\n", false},
		{`urilen:5<>10;`, "GET /a.html HTTP/1.1\r\n\r\n", true},
		{`urilen:>7;`, "GET /a.html HTTP/1.1\r\n\r\n", false},
		{`urilen:9,raw;`, "GET /a%2ehtml HTTP/1.1\r\n\r\n", true},
	})
}

func TestEmptyRuleSetAndNilFlow(t *testing.T) {
	rs, skipped, err := LoadReader("empty", strings.NewReader("# nothing\n\n"), nil)
	if err != nil || len(skipped) != 0 || len(rs.Rules) != 0 {
		t.Fatalf("empty file: %v %v %d rules", err, skipped, len(rs.Rules))
	}
	if got := sids(NewEngine(rs, Options{}), pkt(nil, true, "x")); len(got) != 0 {
		t.Errorf("empty rule set alerted %v", got)
	}
	e := newTestEngine(t, `alert tcp any any -> any any (content:"x"; flowbits:set,a; sid:1;)`,
		`alert tcp any any -> any any (flowbits:isset,a; content:"y"; sid:2;)`)
	for range 2 { // nil Flow: no memory between packets
		if got := sids(e, pkt(nil, true, "y")); len(got) != 0 {
			t.Errorf("flowbit survived a nil-flow packet: %v", got)
		}
		if got := sids(e, pkt(nil, true, "x")); !slices.Equal(got, []uint32{1}) {
			t.Errorf("nil flow: %v, want [1]", got)
		}
	}
}
