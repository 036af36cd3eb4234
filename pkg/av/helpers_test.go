package av

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
)

const eicar = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

// writeDB writes content to a file named name in a temporary directory
// and returns its path.
func writeDB(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// mustDB loads one database file from text and fails on any skip.
func mustDB(t *testing.T, name, content string) *DB {
	t.Helper()
	db, sk, err := LoadFiles(writeDB(t, name, content))
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	if len(sk) > 0 {
		t.Fatalf("load %s: skipped %v", name, sk)
	}
	return db
}

// scan runs data through a new stream in writes of the given sizes (the
// last size repeats) and returns the sorted names of the signatures hit.
func scan(db *DB, opts StreamOptions, data []byte, sizes ...int) []string {
	s := db.NewStream(opts)
	if len(sizes) == 0 {
		sizes = []int{len(data) + 1}
	}
	for i, k := 0, 0; i < len(data); k++ {
		n := sizes[min(k, len(sizes)-1)]
		s.Write(data[i:min(i+n, len(data))])
		i += n
	}
	s.Close()
	return hitNames(s.Hits())
}

func hitNames(hits []Hit) []string {
	var names []string
	for _, h := range hits {
		names = append(names, h.Signature)
	}
	sort.Strings(names)
	return names
}
