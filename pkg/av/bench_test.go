package av

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// synthDB writes n synthetic hash signatures and n synthetic body
// signatures (two fixed runs around a wildcard byte and a small gap, so
// each has a 12-byte anchor and needs verification) and loads them.
func synthDB(b *testing.B, n int) *DB {
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	hexs := func(k int) string {
		var s strings.Builder
		for range k {
			fmt.Fprintf(&s, "%02x", rng.IntN(256))
		}
		return s.String()
	}
	var hdb, ndb strings.Builder
	for i := range n {
		if i%2 == 0 {
			fmt.Fprintf(&hdb, "%s:%d:Synth.Hash.%d\n", hexs(16), 1000+i, i)
		} else {
			fmt.Fprintf(&hdb, "%s:%d:Synth.Hash.%d\n", hexs(32), 1000+i, i)
		}
		fmt.Fprintf(&ndb, "Synth.Body.%d:0:*:%s??%s{0-4}%s\n", i, hexs(4), hexs(12), hexs(2))
	}
	dir := b.TempDir()
	os.WriteFile(filepath.Join(dir, "s.hsb"), []byte(hdb.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "s.ndb"), []byte(ndb.String()), 0o644)
	db, sk, err := LoadDir(dir)
	if err != nil || len(sk) > 0 {
		b.Fatalf("load: %v %v", err, sk)
	}
	return db
}

// BenchmarkScan measures stream scanning throughput (bytes/s per core) of
// random payload in 16 KiB writes, with 10 to 100,000 hash and body
// signatures loaded.
func BenchmarkScan(b *testing.B) {
	data := make([]byte, 4<<20)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(rng.IntN(256))
	}
	for _, n := range []int{10, 10_000, 100_000} {
		db := synthDB(b, n)
		b.Run(fmt.Sprintf("sigs=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				s := db.NewStream(StreamOptions{})
				for i := 0; i < len(data); i += 16 << 10 {
					s.Write(data[i : i+16<<10])
				}
				s.Close()
				if len(s.Hits()) != 0 {
					b.Fatalf("random data hit %v", s.Hits())
				}
			}
		})
	}
}

// BenchmarkHTTPGzip measures a gzip-encoded HTTP response (1 MiB of text
// inflating to 4 MiB) in 1,460-byte writes, with 10,000 signatures: the
// bytes counted are those on the wire.
func BenchmarkHTTPGzip(b *testing.B) {
	var text strings.Builder
	rng := rand.New(rand.NewPCG(5, 6))
	for text.Len() < 4<<20 {
		fmt.Fprintf(&text, "line %d value %x\n", rng.IntN(1000), rng.Uint32())
	}
	gz := gzipOf(nil, []byte(text.String()))
	wire := []byte(resp(fmt.Sprintf("Content-Encoding: gzip\r\nContent-Length: %d\r\n",
		len(gz)), gz))
	db := synthDB(b, 10_000)
	b.SetBytes(int64(len(wire)))
	for b.Loop() {
		s := db.NewStream(StreamOptions{})
		for i := 0; i < len(wire); i += 1460 {
			s.Write(wire[i:min(i+1460, len(wire))])
		}
		s.Close()
		if st := s.Stats(); st.Objects != 2 || st.DecodeErrors != 0 {
			b.Fatalf("stats %+v", st)
		}
	}
}

// BenchmarkBaseline is the floor to read the others against on a shared
// machine: a walk through one 256-entry table, the least any automaton
// does per byte, and SHA-256 of the same 4 MiB.
func BenchmarkBaseline(b *testing.B) {
	data := make([]byte, 4<<20)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(rng.IntN(256))
	}
	tab := make([]int32, 256)
	for i := range tab {
		tab[i] = int32(rng.IntN(256))
	}
	b.Run("table-walk", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		s := int32(0)
		for b.Loop() {
			for _, c := range data {
				s = tab[byte(s)^c]
			}
		}
		_ = s
	})
	b.Run("sha256", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			sha256.Sum256(data)
		}
	})
}
