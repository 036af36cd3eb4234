package av

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/softips/softips/internal/testenv"
)

// segment is one TCP payload of a capture, for test reassembly.
type segment struct {
	seq  uint32
	data []byte
}

// readDirections returns the TCP payload of each direction of a capture,
// keyed "srcport>dstport", put in order by sequence number with
// retransmitted bytes dropped. Enough for test captures; the pipeline
// does the real reassembly.
func readDirections(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("read %q: %v", path, err)
	}
	segs := map[string][]segment{}
	for {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read %q: %v", path, err)
		}
		pkt := gopacket.NewPacket(data, r.LinkType(), gopacket.Default)
		tcp, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if !ok || len(tcp.Payload) == 0 {
			continue
		}
		key := fmt.Sprintf("%d>%d", tcp.SrcPort, tcp.DstPort)
		segs[key] = append(segs[key], segment{tcp.Seq, append([]byte(nil), tcp.Payload...)})
	}
	out := map[string][]byte{}
	for k, ss := range segs {
		out[k] = concatSegments(ss)
	}
	return out
}

func concatSegments(ss []segment) []byte {
	sort.SliceStable(ss, func(i, j int) bool { return int32(ss[i].seq-ss[j].seq) < 0 })
	var out []byte
	next := ss[0].seq
	for _, s := range ss {
		skip := int32(next - s.seq)
		if skip < 0 || int(skip) >= len(s.data) {
			continue
		}
		out = append(out, s.data[skip:]...)
		next = s.seq + uint32(len(s.data))
	}
	return out
}

// serverToClient returns the payload sent from port 80.
func serverToClient(t *testing.T, dirs map[string][]byte) []byte {
	t.Helper()
	for k, v := range dirs {
		if strings.HasPrefix(k, "80>") {
			return v
		}
	}
	t.Fatalf("no server-to-client payload among %d directions", len(dirs))
	return nil
}

// TestHTTPEvaderCorpus: every http-evader capture (EICAR shaped to evade
// scanners) must be flagged by the EICAR body signature in an HTTP body.
func TestHTTPEvaderCorpus(t *testing.T) {
	corpus := testenv.Corpus(t)
	cases, _ := filepath.Glob(filepath.Join(corpus, "suricata-verify", "http-evader__*"))
	if len(cases) < 6 {
		t.Fatalf("want the 6 http-evader cases, found %d", len(cases))
	}
	db, _, err := LoadFiles("testdata/eicar.ndb", "testdata/eicar.hdb")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range cases {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			payload := serverToClient(t, readDirections(t, filepath.Join(dir, "input.pcap")))
			s := db.NewStream(StreamOptions{})
			for i := 0; i < len(payload); i += 7 { // small writes: odd boundaries
				s.Write(payload[i:min(i+7, len(payload))])
			}
			s.Close()
			if !hasHit(s.Hits(), "Softips.Test.EICAR.Full", "http-body") {
				t.Errorf("EICAR not found in the HTTP body; hits %+v, stats %+v",
					s.Hits(), s.Stats())
			}
			if !hasHit(s.Hits(), "Softips.Test.EICAR.AtStart", "http-body") {
				t.Errorf("EICAR not found at body offset 0; hits %+v", s.Hits())
			}
			if !hasHit(s.Hits(), "Softips.Test.EICAR.MD5", "http-body") {
				t.Errorf("decoded body is not the 68-byte EICAR file; hits %+v", s.Hits())
			}
		})
	}
}

func hasHit(hits []Hit, sig, object string) bool {
	for _, h := range hits {
		if h.Signature == sig && h.Object == object {
			return true
		}
	}
	return false
}
