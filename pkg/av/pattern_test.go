package av

import (
	"bytes"
	"strings"
	"testing"
)

// TestBodyPatternForms checks every supported hex signature construct and
// offset form, each with a matching and a non-matching input.
func TestBodyPatternForms(t *testing.T) {
	cases := []struct {
		name, off, sig, data string
		want                 bool
	}{
		{"exact", "*", "41424344", "xxABCDxx", true},
		{"exact miss", "*", "41424344", "xxABCxDxx", false},
		{"any byte", "*", "4142??4445", "__ABzDE__", true},
		{"any byte miss", "*", "4142??4445", "__ABzzDE__", false},
		{"high nibble", "*", "41424?", "ABO", true},
		{"high nibble miss", "*", "41424?", "ABP", false},
		{"low nibble", "*", "4142?3", "ABS", true},
		{"low nibble miss", "*", "4142?3", "ABT", false},
		{"fixed gap", "*", "4142{3}4344", "AB123CD", true},
		{"fixed gap short", "*", "4142{3}4344", "AB12CD", false},
		{"ranged gap", "*", "4142{1-3}4344", "AB12CD", true},
		{"ranged gap long", "*", "4142{1-3}4344", "AB1234CD", false},
		{"up-to gap zero", "*", "4142{-2}4344", "ABCD", true},
		{"up-to gap over", "*", "4142{-2}4344", "AB123CD", false},
		{"at-least gap", "*", "4142{2-}4344", "AB1234567890CD", true},
		{"at-least gap short", "*", "4142{2-}4344", "AB1CD", false},
		{"star", "*", "4142*4344", "AB" + strings.Repeat(".", 5000) + "CD", true},
		{"star order", "*", "4142*4344", "CD....AB", false},
		{"star overlap", "*", "41424142*41424142", "ABABAB", false},
		{"star twice", "*", "41424142*41424142", "ABAB.ABAB", true},
		{"alternative a", "*", "4142(43|4445)4647", "ABCFG", true},
		{"alternative b", "*", "4142(43|4445)4647", "ABDEFG", true},
		{"alternative miss", "*", "4142(43|4445)4647", "ABDFG", false},
		{"alternative left", "*", "(58|59)4142", "zYAB", true},
		{"wild left of anchor", "*", "5a??{1-2}414243", "Z12ABC", true},
		{"left before start", "*", "5a{4}414243", "Z1ABC", false},
		{"offset exact", "3", "41424344", "123ABCD", true},
		{"offset exact miss", "2", "41424344", "123ABCD", false},
		{"offset range", "1,4", "41424344", "123ABCD", true},
		{"offset range miss", "4,9", "41424344", "123ABCD", false},
		{"offset with left gap", "0", "{3}41424344", "123ABCD", true},
		{"eof", "EOF-4", "41424344", "123ABCD", true},
		{"eof miss", "EOF-5", "41424344", "123ABCD", false},
		{"eof wildcard", "EOF-6", "4142??4445", "xxAB_DE_", true},
		{"target 7 is any", "*", "61626364", "abcd", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			target := "0"
			if strings.HasPrefix(c.name, "target 7") {
				target = "7"
			}
			db := mustDB(t, "t.ndb", "Sig:"+target+":"+c.off+":"+c.sig+"\n")
			for _, sizes := range [][]int{nil, {1}, {2, 3}} {
				got := len(scan(db, StreamOptions{NoHTTP: true}, []byte(c.data), sizes...)) == 1
				if got != c.want {
					t.Errorf("writes %v: hit = %v, want %v", sizes, got, c.want)
				}
			}
		})
	}
}

// TestDBFormat checks the plain name=hexsig list.
func TestDBFormat(t *testing.T) {
	db := mustDB(t, "t.db", "Old.Sig=4142??44\nOther=5a5a5a\n")
	if got := scan(db, StreamOptions{}, []byte("..ABCD..")); len(got) != 1 || got[0] != "Old.Sig" {
		t.Fatalf("hits %v, want [Old.Sig]", got)
	}
}

// TestSplitAcrossWrites: a signature cut at any point between two writes
// still matches, for fixed, gapped and multi-part signatures.
func TestSplitAcrossWrites(t *testing.T) {
	db := mustDB(t, "t.ndb", strings.Join([]string{
		"Fixed:0:*:" + hexOf(eicar),
		"Gapped:0:*:58354f21{0-40}4549434152(2d|5f)5354414e44415244{1-2}414e5449",
		"Parts:0:*:58354f21*4549434152*46494c45{2-}482a",
	}, "\n"))
	data := []byte("GET / HTTP/1.0\r\n\r\n......" + eicar + "......")
	want := "Fixed,Gapped,Parts"
	for cut := 0; cut <= len(data); cut++ {
		s := db.NewStream(StreamOptions{})
		s.Write(data[:cut])
		s.Write(data[cut:])
		if cut == len(data)/2 {
			// the last hit must come before Close when the data is all there
			if got := strings.Join(hitNames(s.Hits()), ","); got != want {
				t.Errorf("before close: hits %s, want %s", got, want)
			}
		}
		s.Close()
		if got := strings.Join(hitNames(s.Hits()), ","); got != want {
			t.Fatalf("cut at %d: hits %s, want %s", cut, got, want)
		}
	}
}

func hexOf(s string) string {
	const digits = "0123456789abcdef"
	var b strings.Builder
	for _, c := range []byte(s) {
		b.WriteByte(digits[c>>4])
		b.WriteByte(digits[c&15])
	}
	return b.String()
}

// TestCleanNotFlagged: bytes that only resemble the signatures raise no hit.
func TestCleanNotFlagged(t *testing.T) {
	db, _, err := LoadFiles("testdata/eicar.ndb", "testdata/eicar.hdb", "testdata/eicar.hsb")
	if err != nil {
		t.Fatal(err)
	}
	clean := strings.Replace(eicar, "ANTIVIRUS", "ANTIVIRAL", 1)
	clean = strings.Replace(clean, "X5O!P", "X5O!Q", 1)
	clean = strings.Replace(clean, "!$H+H*", "!$H+H?", 1)
	body := "HTTP/1.1 200 ok\r\nContent-Length: 68\r\n\r\n" + clean
	if got := scan(db, StreamOptions{}, []byte(body), 5); len(got) != 0 {
		t.Fatalf("clean object flagged: %v", got)
	}
}

// TestWindowBounded: per-stream memory stays at the tail window however
// long the stream, and a signature at the far end is still found.
func TestWindowBounded(t *testing.T) {
	db := mustDB(t, "t.ndb", "Sig:0:*:41424344{10-20}45464748\n")
	s := db.NewStream(StreamOptions{NoHTTP: true})
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	for i := 0; i < 160; i++ {
		s.Write(chunk)
		if len(s.raw.buf) > db.window {
			t.Fatalf("after %d bytes the window holds %d, limit %d",
				(i+1)*len(chunk), len(s.raw.buf), db.window)
		}
	}
	s.Write([]byte("ABCD0123456789EFGH"))
	s.Close()
	if db.window != 28 || len(s.Hits()) != 1 || s.Hits()[0].Offset != 160*int64(len(chunk)) {
		t.Fatalf("window %d (want 28), hits %+v", db.window, s.Hits())
	}
}

// TestLimits: past MaxScanBytes body signatures stop (counted), past
// MaxHashBytes hashing stops (counted), and a flood of anchors waiting for
// bytes is capped (counted).
func TestLimits(t *testing.T) {
	db := mustDB(t, "t.ndb", "Late:0:*:41424344\nWait:0:*:5a5a{0-1000}5b5b\n")
	got := scan(db, StreamOptions{MaxScanBytes: 100, NoHTTP: true},
		[]byte(strings.Repeat(".", 100)+"ABCD"))
	s := db.NewStream(StreamOptions{MaxScanBytes: 100, NoHTTP: true})
	s.Write([]byte(strings.Repeat(".", 100) + "ABCD"))
	s.Close()
	if len(got) != 0 || s.Stats().ScanTruncated != 1 {
		t.Errorf("scan limit: hits %v stats %+v", got, s.Stats())
	}

	eof := mustDB(t, "e.ndb", "End:0:EOF-4:41424344\n")
	if got := scan(eof, StreamOptions{MaxScanBytes: 8, NoHTTP: true},
		[]byte("....ABCD...."), 3); len(got) != 0 {
		t.Errorf("EOF signature matched at the scan limit, not the end: %v", got)
	}

	s = db.NewStream(StreamOptions{NoHTTP: true})
	s.Write([]byte(strings.Repeat("ZZ", 300)))
	st := s.Stats()
	s.Write([]byte("[["))
	s.Close()
	if st.PendingDropped != 599-maxPending || len(s.Hits()) != 1 {
		t.Errorf("pending cap: stats %+v, hits %+v", st, s.Hits())
	}

	hdb := mustDB(t, "t.hsb",
		"275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f:*:E\n")
	if got := scan(hdb, StreamOptions{NoHTTP: true}, []byte(eicar), 10); len(got) != 1 {
		t.Errorf("any-size hash: hits %v", got)
	}
	s = hdb.NewStream(StreamOptions{MaxHashBytes: 60, NoHTTP: true})
	s.Write([]byte(eicar))
	s.Close()
	if len(s.Hits()) != 0 || s.Stats().HashSkipped != 1 {
		t.Errorf("hash limit: hits %v stats %+v", s.Hits(), s.Stats())
	}
}

// TestVerifyBudget: a signature with many ranged gaps over bytes that fit
// each step gives up (counted) instead of backtracking without end.
func TestVerifyBudget(t *testing.T) {
	db := mustDB(t, "t.ndb",
		"Slow:0:*:4142{0-200}41{0-200}41{0-200}41{0-200}41{0-200}5a5a\n")
	s := db.NewStream(StreamOptions{NoHTTP: true})
	s.Write([]byte("AB" + strings.Repeat("A", 1000) + "ZY"))
	s.Close()
	if len(s.Hits()) != 0 || s.Stats().VerifyAborted == 0 {
		t.Fatalf("hits %v, stats %+v: want no hit and an aborted verification",
			s.Hits(), s.Stats())
	}
}
