package av

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestBadLines: every unusable line is skipped with its file, line and an
// exact reason, typed as unsupported or malformed, and the good lines of
// the same file still load.
func TestBadLines(t *testing.T) {
	cases := []struct {
		file, line, msg string
		kind            error
	}{
		{"x.hdb", "44d88612fea8a8f36de82e1278abb02f:68",
			`want 3 fields "hash:size:name", got 2`, ErrMalformed},
		{"x.hdb", "44d88612fea8a8f36de82e1278abb02f:*:N",
			`size "*" is allowed only in .hsb/.hsu files`, ErrMalformed},
		{"x.hsb", "44d8:12x:N", `bad size "12x"`, ErrMalformed},
		{"x.hsb", "zz:12:N", `bad hash "zz": not hex`, ErrMalformed},
		{"x.hsb", "abcd:12:N",
			`hash of 4 hex digits is not md5 (32), sha1 (40) or sha256 (64)`, ErrMalformed},
		{"x.hsb", "44d88612fea8a8f36de82e1278abb02f:68:", `empty signature name`, ErrMalformed},
		{"x.ndb", "N:0:*", `want 4 to 6 fields "name:target:offset:hexsig", got 3`, ErrMalformed},
		{"x.ndb", "N:x:*:4142", `bad target type "x"`, ErrMalformed},
		{"x.ndb", "N:1:EP+10:4142", `offset "EP+10" (only *, n, n,m and EOF-n)`, ErrUnsupported},
		{"x.ndb", "N:0:SL+4:4142", `offset "SL+4" (only *, n, n,m and EOF-n)`, ErrUnsupported},
		{"x.ndb", "N:0:3,x:4142", `bad offset "3,x"`, ErrMalformed},
		{"x.ndb", "N:0:EOF-x:4142", `bad offset "EOF-x"`, ErrMalformed},
		{"x.ndb", "N:0:*:414", `odd number of hex digits at column 3`, ErrMalformed},
		{"x.ndb", "N:0:*:41zz", `bad hex byte "zz" at column 3`, ErrMalformed},
		{"x.ndb", "N:0:*:4142{3", `unclosed "{" at column 5`, ErrMalformed},
		{"x.ndb", "N:0:*:4142{5-2}43", `bad gap "{5-2}" at column 5`, ErrMalformed},
		{"x.ndb", "N:0:*:4142{x}43", `bad gap "{x}" at column 5`, ErrMalformed},
		{"x.ndb", "N:0:*:*4142",
			`hex signature "*4142" begins or ends with an unbounded gap`, ErrMalformed},
		{"x.ndb", "N:0:*:4142(43|44", `unclosed "(" at column 5`, ErrMalformed},
		{"x.ndb", "N:0:*:4142!(43|44)", `hex signature construct "!" at column 5`, ErrUnsupported},
		{"x.ndb", "N:0:*:4142[1-2]43", `hex signature construct "[" at column 5`, ErrUnsupported},
		{"x.ndb", "N:0:*:4142(4?|44)",
			`alternative "4?" at column 5 (only fixed, non-empty hex strings)`, ErrUnsupported},
		{"x.ndb", "N:0:*:4142(B)",
			`alternative "B" at column 5 (only fixed, non-empty hex strings)`, ErrUnsupported},
		{"x.ndb", "N:0:*:41??42??43",
			`part 1 has no run of 2 fixed bytes to anchor on`, ErrUnsupported},
		{"x.ndb", "N:0:*:4142*41??42",
			`part 2 has no run of 2 fixed bytes to anchor on`, ErrUnsupported},
		{"x.ndb", "N:0:EOF-4:4142*4344", `offset EOF-4 with an unbounded gap`, ErrUnsupported},
		{"x.ndb", "N:0:*:4142{60000}4344{6000}4546",
			`part 1 spans more than 65536 bytes`, ErrUnsupported},
		{"x.db", "4142", `want "name=hexsig"`, ErrMalformed},
		{"x.db", "N=", `empty hex signature`, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.line, func(t *testing.T) {
			good := "Good=4142434445\n"
			if !strings.HasSuffix(c.file, ".db") {
				good = "# comment\n\n" + map[string]string{
					".hdb": "44d88612fea8a8f36de82e1278abb02f:68:Good\n",
					".hsb": "44d88612fea8a8f36de82e1278abb02f:68:Good\n",
					".ndb": "Good:0:*:4142434445\n"}[filepath.Ext(c.file)]
			}
			path := writeDB(t, c.file, good+c.line+"\r\n")
			db, sk, err := LoadFiles(path)
			if err != nil {
				t.Fatal(err)
			}
			line := strings.Count(good, "\n") + 1
			want := path + ":" + strconv.Itoa(line) + ": " + c.msg + ": " + c.kind.Error()
			if len(sk) != 1 || sk[0].Error() != want || sk[0].Line != line {
				t.Fatalf("skipped %v\nwant    %s", sk, want)
			}
			if !errors.Is(sk[0], c.kind) {
				t.Errorf("errors.Is(%v, %v) = false", sk[0], c.kind)
			}
			if h, b := db.Len(); h+b != 1 {
				t.Errorf("loaded %d hash + %d body signatures, want the 1 good one", h, b)
			}
		})
	}
}

// TestLoadFileErrors: a file of an unknown or packed type named explicitly
// is an error, not a skip.
func TestLoadFileErrors(t *testing.T) {
	for name, want := range map[string]error{
		"main.cvd": ErrPacked, "daily.cld": ErrPacked, "x.ldb": ErrUnsupported,
	} {
		_, _, err := LoadFiles(writeDB(t, name, "x\n"))
		if !errors.Is(err, want) {
			t.Errorf("%s: error %v, want %v", name, err, want)
		}
	}
	_, _, err := LoadFiles(filepath.Join(t.TempDir(), "none.hdb"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error %v, want not-exist", err)
	}
}

// TestLoadDir loads a directory laid out like ClamAV's unpacked database:
// supported files load, the others are skipped with line 0 and a reason.
func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"a.hdb":     "44d88612fea8a8f36de82e1278abb02f:68:A\n",
		"b.hsu":     "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f:*:B\n",
		"c.ndb":     "C:0:*:4142434445\n",
		"d.db":      "D=4142434446\n",
		"daily.cvd": "packed",
		"e.ldb":     "E;Engine:51-255,Target:0;0;4142\n",
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db, sk, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	db2, sk2, err := LoadFiles(dir)
	if h, b := db2.Len(); err != nil || h != 2 || b != 2 || len(sk2) != 2 {
		t.Errorf("LoadFiles(dir): %d hash, %d body, skipped %v, error %v", h, b, sk2, err)
	}
	if h, b := db.Len(); h != 2 || b != 2 {
		t.Errorf("loaded %d hash, %d body signatures; want 2, 2", h, b)
	}
	want := []string{
		filepath.Join(dir, "daily.cvd") + ":0: " + ErrPacked.Error(),
		filepath.Join(dir, "e.ldb") + `:0: database file type ".ldb": unsupported`,
	}
	if len(sk) != 2 || sk[0].Error() != want[0] || sk[1].Error() != want[1] {
		t.Errorf("skipped %v, want %v", sk, want)
	}
}
