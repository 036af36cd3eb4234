package av

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// DB is a loaded, immutable signature database, safe for concurrent use by
// many Streams.
type DB struct {
	body    []bodySig
	eof     []int32 // body signatures anchored at the end of the object
	ac      *automaton
	refs    [][]partRef // anchor id -> the parts it anchors
	md5     map[[16]byte][]hashSig
	sha1    map[[20]byte][]hashSig
	sha256  map[[32]byte][]hashSig
	maxSize int64 // largest size in a hash signature; -1 when one allows any
	window  int   // tail bytes a stream keeps for verification
	nhash   int
}

type hashSig struct {
	name string
	size int64 // -1: any size
}

type offKind uint8

const (
	offAny offKind = iota
	offAbs         // start in [n, n+m]
	offEOF         // start at size-n
)

type bodySig struct {
	name  string
	off   offKind
	n, m  int64
	parts []part
}

type partRef struct{ sig, part int32 }

// Len returns the number of hash and body signatures loaded.
func (db *DB) Len() (hash, body int) { return db.nhash, len(db.body) }

// fileKind says how a database file is read, from its extension.
func fileKind(path string) (string, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".hdb", ".hdu", ".hsb", ".hsu":
		return "hash", nil
	case ".ndb", ".ndu":
		return "ndb", nil
	case ".db":
		return "db", nil
	case ".cvd", ".cld":
		return "", ErrPacked
	default:
		return "", unsupported("database file type %q", ext)
	}
}

// LoadFiles loads the named signature files; a directory among them is
// read as by LoadDir. Lines that cannot be used are returned as Skipped
// (and counted there); an unreadable file, or one of a type this package
// does not read, is an error.
func LoadFiles(paths ...string) (*DB, []Skipped, error) {
	b := newBuilder()
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			if err := b.loadDir(p); err != nil {
				return nil, b.skipped, err
			}
			continue
		}
		kind, err := fileKind(p)
		if err != nil {
			return nil, b.skipped, fmt.Errorf("load %q: %w", p, err)
		}
		if err := b.loadFile(p, kind); err != nil {
			return nil, b.skipped, err
		}
	}
	return b.build(), b.skipped, nil
}

// LoadDir loads every supported file (.hdb .hdu .hsb .hsu .ndb .ndu .db) in
// dir, like ClamAV's unpacked database directory; other files are returned
// as Skipped with line 0. Packed .cvd/.cld files must be unpacked with
// "sigtool --unpack" first.
func LoadDir(dir string) (*DB, []Skipped, error) {
	b := newBuilder()
	if err := b.loadDir(dir); err != nil {
		return nil, b.skipped, err
	}
	return b.build(), b.skipped, nil
}

func (b *builder) loadDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("load dir %q: %w", dir, err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		kind, err := fileKind(p)
		if err != nil {
			b.skipped = append(b.skipped, Skipped{File: p, Err: err})
			continue
		}
		if err := b.loadFile(p, kind); err != nil {
			return err
		}
	}
	return nil
}

type builder struct {
	db      *DB
	skipped []Skipped
	anchors map[string]int32
	list    [][]byte
}

func newBuilder() *builder {
	return &builder{
		db: &DB{md5: map[[16]byte][]hashSig{}, sha1: map[[20]byte][]hashSig{},
			sha256: map[[32]byte][]hashSig{}},
		anchors: map[string]int32{},
	}
}

func (b *builder) loadFile(path, kind string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("load %q: %w", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimRight(sc.Text(), "\r")
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if err := b.addLine(kind, text, path); err != nil {
			b.skipped = append(b.skipped, Skipped{File: path, Line: line, Err: err})
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("load %q: %w", path, err)
	}
	return nil
}

func (b *builder) addLine(kind, text, path string) error {
	switch kind {
	case "hash":
		return b.addHash(text, strings.HasPrefix(strings.ToLower(filepath.Ext(path)), ".hs"))
	case "ndb":
		return b.addNDB(text)
	}
	name, sig, ok := strings.Cut(text, "=")
	if !ok || name == "" {
		return malformed("want \"name=hexsig\"")
	}
	return b.addBody(bodySig{name: name}, sig)
}

// addHash reads "hash:size:name[:flevel...]".
func (b *builder) addHash(text string, anySizeOK bool) error {
	f := strings.Split(text, ":")
	if len(f) < 3 {
		return malformed("want 3 fields \"hash:size:name\", got %d", len(f))
	}
	size := int64(-1)
	if f[1] != "*" || !anySizeOK {
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || n < 0 {
			if f[1] == "*" {
				return malformed("size \"*\" is allowed only in .hsb/.hsu files")
			}
			return malformed("bad size %q", f[1])
		}
		size = n
	}
	h, err := hex.DecodeString(f[0])
	if err != nil {
		return malformed("bad hash %q: not hex", f[0])
	}
	if f[2] == "" {
		return malformed("empty signature name")
	}
	return b.addDigest(h, hashSig{name: f[2], size: size})
}

func (b *builder) addDigest(h []byte, s hashSig) error {
	db := b.db
	switch len(h) {
	case 16:
		db.md5[[16]byte(h)] = append(db.md5[[16]byte(h)], s)
	case 20:
		db.sha1[[20]byte(h)] = append(db.sha1[[20]byte(h)], s)
	case 32:
		db.sha256[[32]byte(h)] = append(db.sha256[[32]byte(h)], s)
	default:
		return malformed("hash of %d hex digits is not md5 (32), sha1 (40) or sha256 (64)",
			2*len(h))
	}
	db.nhash++
	if s.size < 0 || db.maxSize < 0 {
		db.maxSize = -1
	} else {
		db.maxSize = max(db.maxSize, s.size)
	}
	return nil
}

// addNDB reads "name:target:offset:hexsig[:min_flevel[:max_flevel]]".
func (b *builder) addNDB(text string) error {
	f := strings.Split(text, ":")
	if len(f) < 4 || len(f) > 6 {
		return malformed("want 4 to 6 fields \"name:target:offset:hexsig\", got %d", len(f))
	}
	if f[0] == "" {
		return malformed("empty signature name")
	}
	if t, err := strconv.Atoi(f[1]); err != nil || t < 0 || t > 14 {
		return malformed("bad target type %q", f[1])
	}
	s := bodySig{name: f[0]}
	if err := parseOffset(f[2], &s); err != nil {
		return err
	}
	return b.addBody(s, f[3])
}

func parseOffset(t string, s *bodySig) error {
	if t == "*" {
		return nil
	}
	if rest, ok := strings.CutPrefix(t, "EOF-"); ok {
		n, err := strconv.ParseInt(rest, 10, 64)
		if err != nil || n < 0 || n > maxPartLen {
			return malformed("bad offset %q", t)
		}
		s.off, s.n = offEOF, n
		return nil
	}
	if t == "" || t[0] < '0' || t[0] > '9' {
		return unsupported("offset %q (only *, n, n,m and EOF-n)", t)
	}
	ns, ms, hasM := strings.Cut(t, ",")
	n, err1 := strconv.ParseInt(ns, 10, 64)
	var m int64
	var err2 error
	if hasM {
		m, err2 = strconv.ParseInt(ms, 10, 64)
	}
	if err1 != nil || err2 != nil || n < 0 || m < 0 {
		return malformed("bad offset %q", t)
	}
	s.off, s.n, s.m = offAbs, n, m
	return nil
}

func (b *builder) addBody(s bodySig, hexsig string) error {
	parts, err := parseHexSig(hexsig)
	if err != nil {
		return err
	}
	s.parts = parts
	if s.off == offEOF && len(parts) > 1 {
		return unsupported("offset EOF-%d with an unbounded gap", s.n)
	}
	id := int32(len(b.db.body))
	b.db.body = append(b.db.body, s)
	if s.off == offEOF {
		b.db.eof = append(b.db.eof, id)
		b.db.window = max(b.db.window, int(s.n)+parts[0].span())
		return nil
	}
	for k := range parts {
		parts[k].all = nil // only EOF-anchored signatures are matched whole
		b.db.window = max(b.db.window, parts[k].span())
		b.addAnchor(parts[k].anchor, partRef{sig: id, part: int32(k)})
	}
	return nil
}

func (b *builder) addAnchor(a []byte, r partRef) {
	id, ok := b.anchors[string(a)]
	if !ok {
		id = int32(len(b.list))
		b.anchors[string(a)] = id
		b.list = append(b.list, a)
		b.db.refs = append(b.db.refs, nil)
	}
	b.db.refs[id] = append(b.db.refs[id], r)
}

func (b *builder) build() *DB {
	for _, refs := range b.db.refs {
		sort.Slice(refs, func(i, j int) bool { return refs[i].sig < refs[j].sig })
	}
	if len(b.list) > 0 {
		b.db.ac = buildAutomaton(b.list)
	}
	return b.db
}
