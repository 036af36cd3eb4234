package av

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"crypto/sha256"
	"fmt"
	"io"
	"strings"
	"testing"
)

func gzipOf(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func flateOf(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zlibOf(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func chunk(b []byte, n int) string {
	var s strings.Builder
	for len(b) > 0 {
		k := min(n, len(b))
		fmt.Fprintf(&s, "%x;ext=1\r\n%s\r\n", k, b[:k])
		b = b[k:]
	}
	return s.String() + "0\r\nTrailer: x\r\n\r\n"
}

func resp(headers string, body []byte) string {
	return "HTTP/1.1 200 OK\r\n" + headers + "\r\n" + string(body)
}

// TestHTTPBodies: the EICAR file in HTTP bodies framed and encoded in the
// ways browsers accept is found as an http-body object, and its hash is
// that of the decoded file.
func TestHTTPBodies(t *testing.T) {
	e := []byte(eicar)
	gz, df, zl := gzipOf(t, e), flateOf(t, e), zlibOf(t, e)
	clen := func(b []byte) string { return fmt.Sprintf("Content-Length: %d\r\n", len(b)) }
	cases := []struct{ name, stream string }{
		{"content-length", resp(clen(e), e)},
		{"chunked", resp("Transfer-Encoding: chunked\r\n", []byte(chunk(e, 5)))},
		{"chunked beats length", resp("Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
			[]byte(chunk(e, 1)))},
		{"chunked bare LF", strings.ReplaceAll(resp("Transfer-Encoding: Chunked\r\n",
			[]byte(chunk(e, 9))), "\r\n", "\n")},
		{"chunk without CRLF", resp("Transfer-Encoding: chunked\r\n",
			[]byte("22\r\n"+eicar[:34]+"22\r\n"+eicar[34:]+"\r\n0\r\n\r\n"))},
		{"folded transfer-encoding", resp("Transfer-Encoding:\r\n chunked\r\n",
			[]byte(chunk(e, 4)))},
		{"chunk size padded", resp("Transfer-Encoding: chunked\r\n",
			[]byte(" 044 \r\n"+eicar+"\r\n0\r\n\r\n"))},
		{"two gzip labels, one layer", resp("Content-Encoding: gzip\r\n"+
			"Content-Encoding: gzip\r\n"+clen(gz), gz)},
		{"gzip", resp("Content-Encoding: gzip\r\n"+clen(gz), gz)},
		{"x-gzip chunked", resp("Content-Encoding: x-gzip\r\nTransfer-Encoding: chunked\r\n",
			[]byte(chunk(gz, 7)))},
		{"deflate raw", resp("Content-Encoding: deflate\r\n"+clen(df), df)},
		{"deflate zlib", resp("Content-Encoding: deflate\r\n"+clen(zl), zl)},
		{"gzip then deflate", func() string {
			b := flateOf(t, gz)
			return resp("Content-Encoding: gzip, deflate\r\n"+clen(b), b)
		}()},
		{"close delimited gzip", resp("Content-Encoding: gzip\r\nConnection: close\r\n", gz)},
		{"second of pipelined", "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n" +
			"HTTP/1.1 100 Continue\r\n\r\n" + resp(clen([]byte("hello")), []byte("hello")) +
			"\r\n" + resp("Content-Encoding: gzip\r\n"+clen(gz), gz)},
		{"request upload", "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" +
			"Content-Encoding: gzip\r\n\r\n" + chunk(gz, 11)},
	}
	db, _, err := LoadFiles("testdata/eicar.ndb", "testdata/eicar.hdb")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, size := range []int{1, 3, 64 << 10} {
				s := db.NewStream(StreamOptions{})
				for i := 0; i < len(c.stream); i += size {
					s.Write([]byte(c.stream[i:min(i+size, len(c.stream))]))
				}
				s.Close()
				if !hasHit(s.Hits(), "Softips.Test.EICAR.Full", "http-body") ||
					!hasHit(s.Hits(), "Softips.Test.EICAR.MD5", "http-body") {
					t.Fatalf("writes of %d: hits %+v stats %+v", size, s.Hits(), s.Stats())
				}
			}
		})
	}
}

// TestHTTPBodyOffsets: hits report where the body starts in the stream.
func TestHTTPBodyOffsets(t *testing.T) {
	db := mustDB(t, "t.ndb", "E:0:0:58354f2150\n")
	head := "HTTP/1.1 200 OK\r\nContent-Length: 68\r\n\r\n"
	s := db.NewStream(StreamOptions{})
	s.Write([]byte(head + eicar))
	s.Close()
	h := s.Hits()
	if len(h) != 1 || h[0].Object != "http-body" || h[0].ObjectStart != int64(len(head)) ||
		h[0].Offset != 0 {
		t.Fatalf("hits %+v, want one http-body hit at body offset 0, object start %d",
			h, len(head))
	}
}

// TestHTTPLimits: a decompression bomb is cut at MaxDecodedBytes, a broken
// gzip body counts a decode error, and a bad chunk size stops the parser
// (counted) while the stream itself is still scanned.
func TestHTTPLimits(t *testing.T) {
	db, _, _ := LoadFiles("testdata/eicar.ndb")
	bomb := gzipOf(t, append(bytes.Repeat([]byte{0}, 4<<20), eicar...))
	s := db.NewStream(StreamOptions{MaxDecodedBytes: 1 << 20})
	s.Write([]byte(resp(fmt.Sprintf("Content-Encoding: gzip\r\nContent-Length: %d\r\n",
		len(bomb)), bomb)))
	s.Close()
	if st := s.Stats(); st.DecodeTruncated != 1 || len(s.Hits()) != 0 {
		t.Errorf("bomb: stats %+v hits %+v, want 1 truncated and no hit", st, s.Hits())
	}

	gz := gzipOf(t, []byte(eicar))
	broken := append(append([]byte(nil), gz[:len(gz)-4]...), 0, 0, 0, 0) // bad length
	s = db.NewStream(StreamOptions{})
	s.Write([]byte(resp("Content-Encoding: gzip\r\n", broken)))
	s.Close()
	if st := s.Stats(); st.DecodeErrors != 1 || !hasHit(s.Hits(), "Softips.Test.EICAR.Full",
		"http-body") {
		t.Errorf("broken gzip: stats %+v hits %+v, want the error and the hit", st, s.Hits())
	}

	s = db.NewStream(StreamOptions{})
	s.Write([]byte(resp("Transfer-Encoding: chunked\r\n", []byte("zz\r\n"+eicar))))
	s.Close()
	if st := s.Stats(); st.HTTPErrors != 1 || !hasHit(s.Hits(), "Softips.Test.EICAR.Full",
		"stream") {
		t.Errorf("bad chunk: stats %+v hits %+v", st, s.Hits())
	}
}

// TestNotHTTP: a stream that is not HTTP is scanned raw and counts no
// HTTP error.
func TestNotHTTP(t *testing.T) {
	db, _, _ := LoadFiles("testdata/eicar.ndb")
	s := db.NewStream(StreamOptions{})
	io.WriteString(writerFunc(s.Write), "\x16\x03\x01 binary "+eicar)
	s.Close()
	if st := s.Stats(); st.HTTPErrors != 0 || st.Objects != 1 ||
		!hasHit(s.Hits(), "Softips.Test.EICAR.Full", "stream") {
		t.Errorf("stats %+v hits %+v", st, s.Hits())
	}
}

type writerFunc func([]byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }

// TestLinkHTTPHead: with the request side linked, a HEAD response that
// announces a length has no body, so the gzip body of the next response is
// decoded; unlinked, that response is taken for the HEAD body (the known
// gap LinkHTTP closes).
func TestLinkHTTPHead(t *testing.T) {
	db, _, _ := LoadFiles("testdata/eicar.ndb")
	gz := gzipOf(t, []byte(eicar))
	reqs := "HEAD /x HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n"
	resps := "HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n" +
		resp(fmt.Sprintf("Content-Encoding: gzip\r\nContent-Length: %d\r\n", len(gz)), gz)
	for _, linked := range []bool{true, false} {
		q, r := db.NewStream(StreamOptions{}), db.NewStream(StreamOptions{})
		if linked {
			LinkHTTP(q, r)
		}
		q.Write([]byte(reqs))
		r.Write([]byte(resps))
		q.Close()
		r.Close()
		if got := hasHit(r.Hits(), "Softips.Test.EICAR.Full", "http-body"); got != linked {
			t.Errorf("linked %v: body hit %v; hits %+v", linked, got, r.Hits())
		}
	}
}

// TestBodyHitHash: a body hit kept in Hits carries the SHA-256 of its
// object once the object ends, when the stream hashes objects.
func TestBodyHitHash(t *testing.T) {
	db, _, _ := LoadFiles("testdata/eicar.ndb")
	s := db.NewStream(StreamOptions{HashObjects: true})
	s.Write([]byte(resp("Content-Length: 68\r\n", []byte(eicar))))
	s.Close()
	const want = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
	n := 0
	for _, h := range s.Hits() {
		if h.Object == "http-body" {
			n++
			if h.Hash != want {
				t.Errorf("hit %+v: hash %q, want %q", h, h.Hash, want)
			}
		}
	}
	if n != 4 {
		t.Errorf("%d http-body hits, want 4 (%+v)", n, s.Hits())
	}
}

// TestHTTPStreamNotHashed: a stream found to be HTTP is hashed by its
// bodies only; the same bytes that are not HTTP are hashed whole.
func TestHTTPStreamNotHashed(t *testing.T) {
	for _, c := range []struct {
		data string
		want int
	}{
		{resp("Content-Length: 68\r\n", []byte(eicar)), 0},
		{"HTTX/1.1 200 OK\r\nContent-Length: 68\r\n\r\n" + eicar, 1},
	} {
		sum := sha256.Sum256([]byte(c.data))
		db := mustDB(t, "t.hsb", fmt.Sprintf("%x:%d:Whole\n", sum, len(c.data)))
		if got := scan(db, StreamOptions{}, []byte(c.data), 10); len(got) != c.want {
			t.Errorf("%.8q: hits %v, want %d", c.data, got, c.want)
		}
	}
}
