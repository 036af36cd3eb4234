package av

import (
	"strings"
	"testing"
)

// FuzzHexSig: any text either parses into parts whose spans respect the
// limits, or is rejected as unsupported or malformed; it never panics.
func FuzzHexSig(f *testing.F) {
	for _, s := range []string{"4142", "41??42{3}43*4445", "(41|4243)4445{-3}46{2-}4748",
		"4?4142?3", "{5}4142", "41{5-}42", "4142(43|", "4142{1-0}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		parts, err := parseHexSig(s)
		if err != nil {
			return
		}
		for _, p := range parts {
			if len(p.anchor) < minAnchorLen || len(p.anchor) > maxAnchorLen ||
				p.span() > maxPartLen {
				t.Fatalf("%q: part with anchor %d bytes, span %d", s, len(p.anchor), p.span())
			}
		}
	})
}

// FuzzStream: arbitrary traffic, cut into writes anywhere, never panics
// and finds EICAR wherever it is written whole into the raw stream.
func FuzzStream(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"+
		"5\r\nX5O!P\r\n0\r\n\r\n"), 3)
	f.Add([]byte("GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Encoding: gzip\r\n"+
		"\r\n\x1f\x8b"), 1)
	f.Add([]byte("HTTP/1.0 200 OK\r\nContent-Encoding: deflate\r\n\r\n\x78\x9c\x00"), 7)
	db, _, err := LoadFiles("testdata/eicar.ndb", "testdata/eicar.hdb")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, step int) {
		step = max(1, step%64)
		s := db.NewStream(StreamOptions{MaxDecodedBytes: 1 << 16})
		in := append(append([]byte(nil), data...), eicar...)
		for i := 0; i < len(in); i += step {
			s.Write(in[i:min(i+step, len(in))])
		}
		s.Close()
		if !hasHit(s.Hits(), "Softips.Test.EICAR.Full", "stream") {
			t.Fatalf("EICAR at the end of the stream not found; %q", strings.ToValidUTF8(
				string(data), "?"))
		}
	})
}
