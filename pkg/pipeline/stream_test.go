package pipeline

import (
	"strings"
	"testing"
)

// piece is one segment fed to a stream: offset from the initial next
// sequence number, captured data and (when larger) the wire length.
type piece struct {
	off  uint32
	data string
	wire int
}

func newReasm(st *counters) *reasm {
	return &reasm{ctx: 8, maxHeld: 64, maxSegs: 4, memcap: 1 << 20, stats: st, compactAt: 32}
}

// runStream feeds pieces to a stream starting at isn and returns every
// delivered new byte in order, with the gap positions marked "|".
func runStream(t *testing.T, isn uint32, ps []piece, st *counters) string {
	t.Helper()
	r := newReasm(st)
	var s stream
	s.start(isn)
	var out strings.Builder
	for _, p := range ps {
		wire := max(p.wire, len(p.data))
		from, n := s.add(r, isn+p.off, []byte(p.data), wire)
		if s.gap {
			out.WriteString("|")
		}
		out.Write(s.buf[len(s.buf)-n:])
		if from > len(s.buf)-n || len(s.buf)-from > r.ctx+n {
			t.Fatalf("window [%d:] of %d bytes with %d new is wrong", from, len(s.buf), n)
		}
	}
	from, n := s.flush(r)
	if n > 0 {
		out.WriteString("|")
		out.Write(s.buf[from:][len(s.buf)-from-n:])
	}
	if r.mem != 0 || s.oooBytes != 0 {
		t.Errorf("held memory %d/%d after flush", r.mem, s.oooBytes)
	}
	return out.String()
}

func TestReassembly(t *testing.T) {
	tests := []struct {
		name                  string
		isn                   uint32
		in                    []piece
		want                  string
		retrans, overlap, ooo uint64
		gaps, gapBytes, trunc uint64
	}{
		{name: "in order", in: []piece{{0, "GET ", 0}, {4, "/evil", 0}}, want: "GET /evil"},
		{name: "retransmission", in: []piece{{0, "ABCD", 0}, {0, "ABCD", 0}, {4, "EF", 0}},
			want: "ABCDEF", retrans: 1, overlap: 4},
		{name: "overlap first wins", in: []piece{{0, "AAAA", 0}, {2, "BBCC", 0}},
			want: "AAAACC", overlap: 2},
		{name: "out of order", in: []piece{{4, "EFGH", 0}, {0, "ABCD", 0}},
			want: "ABCDEFGH", ooo: 1},
		{name: "held bytes win over later in-order copy",
			in:   []piece{{4, "XX", 0}, {0, "ABCDEFGH", 0}},
			want: "ABCDXXGH", ooo: 1, overlap: 2},
		{name: "held pieces overlap first wins",
			in:   []piece{{4, "EF", 0}, {8, "IJ", 0}, {3, "dxxghxxk", 0}, {0, "ABC", 0}},
			want: "ABCdEFghIJk", ooo: 3, overlap: 4},
		{name: "gap skipped after hold limit",
			in: []piece{{0, "A", 0}, {10, "K", 0}, {20, "U", 0}, {30, "X", 0}, {40, "Y", 0},
				{50, "Z", 0}},
			want: "A|K|UXYZ", ooo: 5, gaps: 5, gapBytes: 5 * 9},
		{name: "missing segment never arrives", in: []piece{{0, "AB", 0}, {5, "FG", 0}},
			want: "AB|FG", ooo: 1, gaps: 1, gapBytes: 3},
		{name: "truncated snapshot", in: []piece{{0, "AB", 5}, {5, "FG", 0}},
			want: "|ABFG", trunc: 3},
		{name: "sequence wraps", isn: 0xfffffffe, in: []piece{{2, "CD", 0}, {0, "AB", 0}},
			want: "ABCD", ooo: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st counters
			got := runStream(t, tt.isn, tt.in, &st)
			if got != tt.want {
				t.Errorf("stream %q, want %q", got, tt.want)
			}
			check := []struct {
				name      string
				got, want uint64
			}{
				{"retrans", st.retrans.Load(), tt.retrans},
				{"overlap bytes", st.overlapBytes.Load(), tt.overlap},
				{"out-of-order segments", st.oooSegments.Load(), tt.ooo},
				{"gaps", st.gaps.Load(), tt.gaps},
				{"gap bytes", st.gapBytes.Load(), tt.gapBytes},
				{"truncated bytes", st.truncBytes.Load(), tt.trunc},
			}
			for _, c := range check {
				if c.got != c.want {
					t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
				}
			}
		})
	}
}

// TestStreamContext checks that a pattern split over two segments is
// visible in the Stream of the second one, and that the window is bounded.
func TestStreamContext(t *testing.T) {
	var st counters
	r := newReasm(&st)
	var s stream
	s.start(100)
	s.add(r, 100, []byte("0123456789ev"), 12)
	from, n := s.add(r, 112, []byte("il!"), 3)
	got := string(s.buf[from:])
	if got != "456789evil!" || n != 3 {
		t.Errorf("stream %q new %d, want %q new 3", got, n, "456789evil!")
	}
	for i := range 20 { // keep writing: buf must stay bounded by compaction
		s.add(r, 115+uint32(i)*10, []byte("abcdefghij"), 10)
	}
	if len(s.buf) > r.compactAt+10 {
		t.Errorf("buffer grew to %d bytes, compaction at %d", len(s.buf), r.compactAt)
	}
}

// TestStreamNoContextAcrossGap checks that bytes before a hole are never
// offered as context for bytes after it.
func TestStreamNoContextAcrossGap(t *testing.T) {
	var st counters
	r := newReasm(&st)
	var s stream
	s.start(0)
	s.add(r, 0, []byte("ev"), 5) // snapshot lost 3 bytes
	from, n := s.add(r, 5, []byte("il"), 2)
	if got := string(s.buf[from:]); got != "il" || n != 2 {
		t.Errorf("stream %q new %d after a gap, want %q new 2", got, n, "il")
	}
	s.add(r, 20, []byte("later"), 5)
	from, n = s.flush(r)
	if got := string(s.buf[from:]); got != "later" || n != 5 {
		t.Errorf("buffer grew to %d bytes, compaction at %d", len(s.buf), r.compactAt)
	}
}

// FuzzReassembly feeds pieces of one known stream in any order, overlap
// and size, and checks the delivered bytes against it.
func FuzzReassembly(f *testing.F) {
	f.Add([]byte{4, 4, 0, 4, 2, 6, 0, 1})
	f.Add([]byte{200, 10, 0, 3, 100, 50, 3, 100})
	f.Fuzz(func(t *testing.T, plan []byte) {
		truth := make([]byte, 512)
		for i := range truth {
			truth[i] = byte(i*7 + i/13)
		}
		var st counters
		r := newReasm(&st)
		var s stream
		const isn = 0xffffff00 // wraps inside the test
		s.start(isn)
		var got []byte
		for i := 0; i+1 < len(plan); i += 2 {
			off, n := int(plan[i])*2, int(plan[i+1])
			n = min(n, len(truth)-off)
			_, k := s.add(r, isn+uint32(off), truth[off:off+n], n)
			got = append(got, s.buf[len(s.buf)-k:]...)
		}
		_, k := s.flush(r)
		got = append(got, s.buf[len(s.buf)-k:]...)
		end := int(s.next - isn)
		if want := end - int(st.gapBytes.Load()); len(got) != want {
			t.Fatalf("delivered %d bytes, want %d (next %d)", len(got), want, end)
		}
		if st.gaps.Load() == 0 && string(got) != string(truth[:end]) {
			t.Fatalf("delivered bytes differ from the stream")
		}
		if r.mem != 0 || len(s.ooo) != 0 {
			t.Fatalf("held %d bytes in %d pieces after flush", r.mem, len(s.ooo))
		}
	})
}
