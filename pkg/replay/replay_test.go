package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/softips/softips/internal/testenv"
	"github.com/softips/softips/pkg/detect"
	"github.com/softips/softips/pkg/pipeline"
)

func engine(t testing.TB, rules string) *detect.Engine {
	t.Helper()
	rs, skipped, err := detect.LoadReader("test.rules", strings.NewReader(rules), nil)
	if err != nil || len(skipped) > 0 {
		t.Fatalf("load rules: %v %v", err, skipped)
	}
	return detect.NewEngine(rs, detect.Options{})
}

// TestReplayPcaps checks facts about the corpus captures with rules of our
// own. Counts checked with tcpdump -A: the dvwa requests repeat the
// previous URI in their Referer header (so raw content matches once more
// than the URIs alone), and the FTP capture has 30 "530 Login incorrect."
// replies (MANIFEST.md's 20 is Zeek's notice threshold, not the count).
func TestReplayPcaps(t *testing.T) {
	dir := filepath.Join(testenv.Corpus(t), "pcaps")
	tests := []struct {
		file, rules string
		want        int
	}{
		{"zeek-http-testmyids.pcap", `alert ip any any -> any any (msg:"GPL ATTACK_RESPONSE id ` +
			`check returned root"; content:"uid=0|28|root|29|"; sid:2100498; rev:7;)`, 1},
		{"zeek-http-testmyids.pcap", `alert tcp any any -> any any (msg:"root"; ` +
			`flow:established,to_client; content:"uid=0|28|root|29|"; sid:1;)`, 1},
		{"zeek-http-dvwa-sqli.pcapng", `alert tcp any any -> any any (msg:"sqli"; ` +
			`content:"UNION+SELECT"; nocase; sid:1;)`, 2},
		{"zeek-http-dvwa-sqli.pcapng", `alert tcp any any -> any any (msg:"sqli"; ` +
			`content:"%27+OR+%27"; sid:1;)`, 3},
		{"esnet-nmap_80_w_service_detection.pcap", `alert tcp any any -> any any (msg:"nse"; ` +
			`flow:to_server,established; content:"Nmap Scripting Engine"; sid:1;)`, 4},
		{"zeek-ftp-bruteforce.pcap", `alert tcp any 21 -> any any (msg:"ftp fail"; ` +
			`flow:to_client,established; content:"530 "; sid:1;)`, 30},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			alerts, sum, err := Run(context.Background(), filepath.Join(dir, tt.file),
				engine(t, tt.rules), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(alerts) != tt.want || sum.Alerts != tt.want {
				t.Errorf("%d alerts (summary %d), want %d", len(alerts), sum.Alerts, tt.want)
			}
		})
	}
}

// TestReplaySummaryAndEVE checks the EVE lines and the summary counters.
func TestReplaySummaryAndEVE(t *testing.T) {
	path := filepath.Join(testenv.Corpus(t), "pcaps", "zeek-http-dvwa-sqli.pcapng")
	var eve bytes.Buffer
	rules := `alert tcp any any -> any 80 (msg:"sqli"; content:"UNION+SELECT"; sid:7; rev:2;)`
	for _, workers := range []int{1, 2} {
		eve.Reset()
		opt := Options{EVE: &eve, Pipeline: pipeline.Config{Workers: workers}}
		_, sum, err := Run(context.Background(), path, engine(t, rules), opt)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Packets != 64 || sum.TCP != 48 || sum.Dropped != 16 || sum.Flows != 4 ||
			sum.Alerts != 2 || sum.PacketsPerSec <= 0 {
			t.Errorf("workers %d: summary %+v", workers, sum)
		}
		lines := strings.Split(strings.TrimSpace(eve.String()), "\n")
		if len(lines) != 2 {
			t.Fatalf("workers %d: %d EVE lines, want 2", workers, len(lines))
		}
		var rec struct {
			EventType string `json:"event_type"`
			DestPort  int    `json:"dest_port"`
			Alert     struct {
				SignatureID int `json:"signature_id"`
				Rev         int `json:"rev"`
			} `json:"alert"`
		}
		if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.EventType != "alert" || rec.DestPort != 80 || rec.Alert.SignatureID != 7 ||
			rec.Alert.Rev != 2 {
			t.Errorf("workers %d: EVE record %+v", workers, rec)
		}
	}
}
