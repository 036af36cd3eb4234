package detect

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// conv feeds a conversation as one segment per string, alternating
// direction where a segment starts with "<" (to client) or ">" (to
// server), through a stream window, and returns the alerting sids.
func conv(e *Engine, segs ...string) []uint32 {
	fs := NewFlowState()
	var up, down []byte
	var got []uint32
	for _, s := range segs {
		toServer := s[0] == '>'
		s = s[1:]
		in := pkt(fs, toServer, s)
		if s == "FIN" {
			in.Payload, in.Flags = nil, FlagFIN|FlagACK
		}
		if toServer {
			up = append(up, in.Payload...)
			in.Stream = up
		} else {
			down = append(down, in.Payload...)
			in.Stream = down
		}
		in.NewData = len(in.Payload)
		got = append(got, sids(e, in)...)
	}
	return got
}

func TestHTTPURIContent(t *testing.T) {
	e := newTestEngine(t,
		`alert tcp any any -> any any (content:"foo"; http_uri; sid:1;)`,
		`alert tcp any any -> any any (content:"one"; http_uri; sid:2;)`,
		`alert tcp any any -> any any (content:"oisf"; http_uri; sid:3;)`,
		`alert tcp any any -> any any (content:"foo"; http_uri; content:"bar"; sid:11;)`,
		`alert tcp any any -> any any (content:"one"; http_uri; offset:1; depth:10; `+
			`content:"two"; http_uri; distance:1; within: 4; content:"three"; http_uri; `+
			`distance:1; within: 6; sid:13;)`,
		`alert tcp any any -> any any (content:"one"; http_uri; offset:1; depth:10; `+
			`content:"one"; offset:1; depth:10; content:"two"; http_uri; distance:3; within: 4; `+
			`content:"two"; distance:1; within: 4; content:"three"; http_uri; distance:1; `+
			`within: 6; content:"/three"; distance:0; within: 7; sid:12;)`,
		`alert tcp any any -> any any (uricontent:"/one/"; sid:14;)`,
		`alert tcp any any -> any any (content:"User-Agent"; http_uri; sid:15;)`)
	got := conv(e, ">POST /one/two/three/six HTTP/1.0\r\nUser-Agent: Mozilla/1.0\r\n"+
		"Cookie: hellocatch\r\n\r\n")
	slices.Sort(got)
	if want := []uint32{2, 13, 14}; !slices.Equal(got, want) {
		t.Errorf("alerts %v, want %v", got, want)
	}
}

func TestHTTPStickyBuffers(t *testing.T) {
	req := ">GET /te%73t.exe HTTP/1.1\r\nHost: WWW.Google.com.example.com:8080\r\n" +
		"User-Agent: curl/8\r\nCookie: a=b\r\n\r\n"
	tests := []struct {
		opts string
		want bool
	}{
		{`http.method; content:"GET"; http.uri; content:".exe"; endswith; ` +
			`http.host; content:!".google.com"; endswith;`, true},
		{`http.host; content:"www.google.com.example.com"; startswith; endswith;`, true},
		{`http.host.raw; content:"WWW.Google.com.example.com:8080";`, true},
		{`http.uri; content:"/test.exe";`, true},
		{`http.uri.raw; content:"/te%73t.exe";`, true},
		{`http.user_agent; content:"curl";`, true},
		{`http.cookie; content:"a=b";`, true},
		{`http.header; content:"Host: WWW";`, true},
		{`http.uri; content:!"/api/v2/";`, true},
		{`http.uri; content:"/api/v2/"; startswith;`, false},
		{`http.method; content:"POST";`, false},
		{`flow:to_client; http.uri; content:"/test";`, false},
		{`content:"GET"; http_method; pcre:"/\.exe$/U";`, true},
	}
	for _, tt := range tests {
		e := newTestEngine(t, `alert http $HOME_NET any -> any any (`+tt.opts+` sid:1;)`)
		if got := len(conv(e, req)) == 1; got != tt.want {
			t.Errorf("%s: match = %v, want %v", tt.opts, got, tt.want)
		}
	}
}

// TestHTTPOnlyOnHTTPFlows: proto http needs a flow recognised as HTTP;
// a raw content rule on http alerts on either direction once.
func TestHTTPOnlyOnHTTPFlows(t *testing.T) {
	e := newTestEngine(t, `alert http any any -> any any (content:"THIS_IS_A_TEST"; `+
		`nocase; sid:1;)`)
	if got := conv(e, ">xx THIS_IS_A_TEST"); len(got) != 0 {
		t.Errorf("non-HTTP flow alerted: %v", got)
	}
	got := conv(e, ">GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"<HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\nTHIS_IS_A_TEST")
	if !slices.Equal(got, []uint32{1}) {
		t.Errorf("alerts %v, want [1]", got)
	}
}

// TestHTTPResponseHeadersAtClose mirrors http-close-headers: the server
// sends its header without the blank line and closes.
func TestHTTPResponseHeadersAtClose(t *testing.T) {
	e := newTestEngine(t, `alert http any any -> any any (flow: established, from_server; `+
		`content: "ng1nx"; nocase; http_header; sid: 1;)`)
	got := conv(e, ">GET / HTTP/1.1\r\nHost: a\r\n\r\n", "<HTTP/1.0 200 OK\r\nServer:ng1nx\r\n",
		"<FIN")
	if !slices.Equal(got, []uint32{1}) {
		t.Errorf("alerts %v, want [1]", got)
	}
}

func gz(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func deflateRaw(s string) string {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

const eicar = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

// TestFileData covers the http-evader body encodings: each response must
// alert sid 1 and 2 exactly once, however the body is framed.
func TestFileData(t *testing.T) {
	e := newTestEngine(t,
		`alert http any any -> any any (file_data; `+
			`content:"EICAR-STANDARD-ANTIVIRUS-TEST-FILE"; sid:1;)`,
		`alert http any any -> any any (file_data; content:"X5O!P%@AP[4"; sid:2;)`)
	req := ">GET /eicar.txt HTTP/1.1\r\nHost: evader.example.com\r\n\r\n"
	half := len(eicar) / 2
	chunked := fmt.Sprintf("%x\r\n%s\r\n%x;ext=1\r\n%s\r\n0\r\n\r\n",
		half, eicar[:half], len(eicar)-half, eicar[half:])
	gzBody, dfBody := gz(eicar), deflateRaw(eicar)
	tests := map[string][]string{
		"content-length": {"<HTTP/1.1 200 ok\r\nContent-length: 68\r\n\r\n" + eicar},
		"chunked split": {"<HTTP/1.1 200 ok\r\nTransfer-Encoding: chunked\r\n\r\n" +
			chunked[:20], "<" + chunked[20:]},
		"close-delimited": {"<HTTP/1.1 200 ok\r\nConnection: close\r\n\r\n" + eicar[:30],
			"<" + eicar[30:], "<FIN"},
		"gzip": {fmt.Sprintf("<HTTP/1.1 200 ok\r\nContent-Encoding: gzip\r\n"+
			"Content-Length: %d\r\n\r\n%s", len(gzBody), gzBody)},
		"deflate": {fmt.Sprintf("<HTTP/1.1 200 ok\r\nContent-Encoding: deflate\r\n"+
			"Content-Length: %d\r\n\r\n%s", len(dfBody), dfBody)},
		"header split": {"<HTTP/1.1 200 ok\r\nContent-le", "<ngth: 68\r\n\r\n" + eicar},
	}
	for name, resp := range tests {
		got := conv(e, append([]string{req}, resp...)...)
		slices.Sort(got)
		if !slices.Equal(got, []uint32{1, 2}) {
			t.Errorf("%s: alerts %v, want [1 2]", name, got)
		}
	}
}

// TestBug7199 mirrors bug-7199: reject on every established to_server
// packet, the pass rule does not match, the negated-uri alert fires once.
func TestBug7199(t *testing.T) {
	e := newTestEngine(t,
		`reject ip any any -> any any (msg: "Reject"; flow: to_server, established; sid: 1;)`,
		`pass http any any -> any any (http.uri; content:"/api/v2/"; startswith; `+
			`http.method; content:"GET"; http.host; content:"foo.bar.com"; startswith; `+
			`endswith; sid: 2;)`,
		`alert http any any -> any any (http.uri; content:!"/api/v2/"; sid: 3;)`)
	got := conv(e, ">GET / HTTP/1.1\r\nHost: suricata.io\r\nUser-Agent: curl/8.5.0\r\n"+
		"Accept: */*\r\n\r\n", "<HTTP/1.1 301 Moved Permanently\r\nContent-Length: 24\r\n\r\n"+
		"301 - Moved Permanently\n", ">FIN")
	if want := []uint32{1, 3, 1}; !slices.Equal(got, want) {
		t.Errorf("alerts %v, want %v", got, want)
	}
	var withTx []uint32 // alerts tied to the transaction: both on the GET packet
	e.Inspect(pkt(NewFlowState(), true, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
		func(a Alert) {
			if a.HTTP {
				withTx = append(withTx, a.Rule.SID)
			}
		})
	if !slices.Equal(withTx, []uint32{1, 3}) {
		t.Errorf("alerts with HTTP transaction: %v, want [1 3]", withTx)
	}
	pass := conv(e, ">GET /api/v2/x HTTP/1.1\r\nHost: foo.bar.com\r\n\r\n")
	if len(pass) != 0 {
		t.Errorf("pass rule did not silence the packet: %v", pass)
	}
}

// TestHTTPPipelinedAndConnect: two requests in one segment are two
// transactions; after CONNECT and a 2xx, tunnel bytes are not parsed.
func TestHTTPPipelinedAndConnect(t *testing.T) {
	e := newTestEngine(t, `alert tcp any any -> any any (http.uri; content:"/x"; sid:1;)`,
		`alert tcp any any -> any any (content:"functions"; `+
			`pcre:"/\/[0-9]{2,8}\.functions/Ui"; sid:2;)`)
	got := conv(e, ">GET /x1 HTTP/1.1\r\nHost: a\r\n\r\nGET /x2 HTTP/1.1\r\nHost: a\r\n\r\n")
	if !slices.Equal(got, []uint32{1, 1}) {
		t.Errorf("pipelined: alerts %v, want [1 1]", got)
	}
	got = conv(e, ">CONNECT supportingfunctions.us.newsweaver.com:443 HTTP/1.0\r\n\r\n",
		"<HTTP/1.1 200 Connection Established\r\n\r\n", ">GET /x/12.functions HTTP/1.1\r\n\r\n")
	if len(got) != 0 {
		t.Errorf("tunnel parsed as HTTP: alerts %v", got)
	}
}

func TestHTTPNotHTTP(t *testing.T) {
	h := &httpState{}
	evs := h.feed(true, []byte("\x16\x03\x01 binary TLS hello\r\n\r\n"), false, nil)
	if len(evs) != 0 || h.seen || h.req.state != stDead {
		t.Errorf("binary data: events %d seen %v state %d", len(evs), h.seen, h.req.state)
	}
	long := strings.Repeat("a", maxLine+10)
	h = &httpState{}
	h.feed(true, []byte("GET /"+long), false, nil)
	if h.req.state != stDead {
		t.Errorf("overlong line did not stop parsing (state %d)", h.req.state)
	}
}

// TestBodyInspectionBounded: a body trickled one byte per segment is
// inspected every bodyStep bytes and at its end, not once per segment,
// while a full segment is inspected on its own packet.
func TestBodyInspectionBounded(t *testing.T) {
	h := &httpState{}
	h.feed(true, []byte("GET / HTTP/1.1\r\n\r\n"), false, nil)
	const n = 20000
	evs := h.feed(false, []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", n)),
		false, nil)
	body := 0
	for i := range n {
		for _, ev := range h.feed(false, []byte{byte('a' + i%26)}, false, evs[:0]) {
			if ev.kind == evRespBody {
				body++
			}
		}
	}
	if want := n/bodyStep + 1; body != want {
		t.Errorf("%d body inspections for %d one-byte segments, want %d", body, n, want)
	}
	h.feed(true, []byte("GET / HTTP/1.1\r\n\r\n"), false, nil)
	h.feed(false, []byte("HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n"), false, nil)
	evs = h.feed(false, bytes.Repeat([]byte("x"), 1400), false, nil)
	if len(evs) != 1 || evs[0].kind != evRespBody || evs[0].tx.inspected[1] != 1400 {
		t.Errorf("full segment: events %+v, want one body event covering 1400 bytes", evs)
	}
}

func TestHTTPRequestBodyAndStatus(t *testing.T) {
	e := newTestEngine(t,
		`alert http any any -> any any (http.request_body; content:"user=admin"; sid:1;)`,
		`alert http any any -> any any (flow:to_server; file_data; content:"admin"; sid:2;)`,
		`alert http any any -> any any (http.stat_code; content:"401"; sid:3;)`,
		`alert http any any -> any any (http.method; content:"POST"; `+
			`http.stat_code; content:"200"; sid:4;)`,
		`alert http any any -> any any (content:"401"; http_stat_code; `+
			`content:"realm"; http_header; sid:5;)`)
	got := conv(e, ">POST /login HTTP/1.1\r\nHost: a\r\nContent-Length: 21\r\n\r\nuser=admin",
		">&pass=secret", "<HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=x\r\n"+
			"Content-Length: 0\r\n\r\n")
	if want := []uint32{1, 2, 3, 5}; !slices.Equal(got, want) {
		t.Errorf("alerts %v, want %v", got, want)
	}
}

func TestHTTPHeaderBuffers(t *testing.T) {
	req := ">POST /f HTTP/1.1\r\nHost: a\r\nReferer: http://r.example/\r\nAccept: */*\r\n" +
		"Accept-Encoding: gzip\r\nAccept-Language: en\r\nContent-Type: text/plain\r\n" +
		"Content-Length: 2\r\nConnection: keep-alive\r\n\r\nhi"
	resp := "<HTTP/1.1 302 Found\r\nServer: nginx\r\nLocation: /next\r\n" +
		"Content-Type: text/html\r\nContent-Length: 0\r\n\r\n"
	tests := []struct {
		opts string
		want bool
	}{
		{`http.referer; content:"r.example";`, true},
		{`http.accept; content:"*/*"; bsize:3;`, true},
		{`http.accept_enc; content:"gzip";`, true},
		{`http.accept_lang; content:"en";`, true},
		{`http.content_type; content:"text/plain";`, true},
		{`http.content_type; content:"text/html";`, true},
		{`flow:to_server; http.content_type; content:"text/html";`, false},
		{`http.content_len; content:"2"; bsize:1;`, true},
		{`http.connection; content:"keep-alive";`, true},
		{`http.server; content:"nginx";`, true},
		{`http.location; content:"/next"; startswith;`, true},
		{`http.protocol; content:"HTTP/1.1";`, true},
		{`http.request_line; content:"POST /f HTTP/1.1"; bsize:16;`, true},
		{`http.response_line; content:"302 Found"; endswith;`, true},
		{`http.server; content:"apache";`, false},
	}
	for _, tt := range tests {
		e := newTestEngine(t, `alert http any any -> any any (`+tt.opts+` sid:1;)`)
		if got := len(conv(e, req, resp)) == 1; got != tt.want {
			t.Errorf("%s: match = %v, want %v", tt.opts, got, tt.want)
		}
	}
}
