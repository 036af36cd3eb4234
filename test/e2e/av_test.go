//go:build linux

package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Issue 5 scenarios: a web server on the second server address, the
// antivirus loaded with the test signatures of pkg/av/testdata.
const (
	avServer   = "203.0.113.11:80"
	avSpec     = "198.51.100.7 0 203.0.113.11 80" // policy client-server-port
	eicarMD5   = "44d88612fea8a8f36de82e1278abb02f"
	objEICAR   = "eicar.com"
	objLarge   = "large.bin"
	objClean   = "clean.txt"
	largeSize  = 8 << 20
	cleanSize  = 1 << 20
	avWait     = 3 * time.Second
	largeWait  = 5 * time.Second
	eveAVEvent = "antivirus"
)

// eicar is the 68-byte EICAR anti-virus test file, assembled at run time
// so the source file itself is no test virus.
var eicar = []byte(`X5O!P%@AP[4\PZX54(P^)7CC)7}$` + "EICAR-STANDARD-" +
	"ANTIVIRUS-TEST-FILE!$H+H*")

// avObjects returns the objects the web server offers.
func avObjects(t *testing.T) map[string][]byte {
	t.Helper()
	if sum := md5.Sum(eicar); hex.EncodeToString(sum[:]) != eicarMD5 || len(eicar) != 68 {
		t.Fatalf("EICAR string built wrong: %d bytes, md5 %x", len(eicar), sum)
	}
	large := make([]byte, largeSize)
	copy(large, eicar)
	for i := len(eicar); i < len(large); i++ {
		large[i] = byte('a' + i%26)
	}
	clean := bytes.Repeat([]byte("softips lab clean object, nothing to see here\n"),
		cleanSize/46+1)[:cleanSize]
	return map[string][]byte{objEICAR: eicar, objLarge: large, objClean: clean}
}

// startAV starts the daemon with the test signatures and an EVE file, and
// the web server; it returns the daemon, the EVE path and the server.
func startAV(t *testing.T) (*Daemon, string, *WebServer) {
	t.Helper()
	requireLab(t)
	eve := filepath.Join(t.TempDir(), "eve.json")
	sigs := filepath.Join(suite.lab.Root, "pkg", "av", "testdata")
	d := startDaemon(t, "", "--av", sigs, "--eve", eve)
	web, err := StartWebServer(NSServer, avServer, avObjects(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(web.Close)
	return d, eve, web
}

// TestAVEicarBlocksLaterDownloads: the 68-byte EICAR file downloaded by
// 198.51.100.7 is detected once it has crossed the mirror; the connection
// (kept alive) is reset on both ends, the table holds the policy's entry
// client/32 0 server/32 80, EVE an antivirus record, and a later download
// by the same client from the same server fails while another client
// still downloads.
func TestAVEicarBlocksLaterDownloads(t *testing.T) {
	d, eve, web := startAV(t)
	ctx, cancel := context.WithTimeout(t.Context(), scenarioBudget)
	defer cancel()
	talk := mustTalk(t, ctx, ClientAddr.String(), avServer, "client-get")
	defer talk.Close()
	peer, err := web.Peer(talk.Endpoint().Snapshot().Local, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	dl := talk.Get(objEICAR, avWait)
	t.Logf("EICAR download: status %d, %d of %d body bytes, complete %v, %v", dl.Status,
		dl.Body, dl.Length, dl.Complete, dl.End)
	client := talk.Hold(avWait)
	server, _ := peer.Wait(time.Until(t0.Add(avWait)))
	for _, o := range []Outcome{client, server} {
		if o.End != EndReset {
			t.Errorf("%s: want a reset after the EICAR download, got %v", o.Label, o)
			continue
		}
		t.Logf("%s: reset %v after the request", o.Label, o.EndAt.Sub(t0).Round(time.Microsecond))
	}

	checkAVRecord(t, eve, client.Local.Addr().String())
	entries, err := d.CLI().Entries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := FindEntry(entries, avSpec); !ok || e.Origin != OriginDetector {
		t.Errorf("block list lacks detector entry %q: %+v", avSpec, entries)
	}

	later := Fetch(ctx, NSClient, ClientAddr.String(), avServer, objClean, avWait)
	if later.End != EndRefused && later.End != EndReset || later.Complete {
		t.Errorf("later download by the blocked client: want refused or reset, got %v "+
			"(%d body bytes)", later.Outcome, later.Body)
	}
	t.Logf("later download by the blocked client: %v, %d body bytes", later.End, later.Body)
	other := Fetch(ctx, NSClient, ClientAltAddr.String(), avServer, objClean, avWait)
	if !other.Complete {
		t.Errorf("download by another client: want complete, got %v (%d of %d)",
			other.Outcome, other.Body, other.Length)
	}
}

// TestAVLargeObjectResetBeforeComplete: an 8 MB object whose body starts
// with the EICAR string is caught by a body signature at its start, and
// the download is reset long before its end.
func TestAVLargeObjectResetBeforeComplete(t *testing.T) {
	d, eve, _ := startAV(t)
	ctx, cancel := context.WithTimeout(t.Context(), scenarioBudget)
	defer cancel()
	talk := mustTalk(t, ctx, ClientAddr.String(), avServer, "client-get")
	defer talk.Close()
	defer logCounters(t, ctx, d.CLI(), "reset_", "xdp_inject", "xdp_rate", "xdp_defer")
	t0 := time.Now()
	dl := talk.Get(objLarge, largeWait)
	t.Logf("large download: %d of %d body bytes got through, %v after %v", dl.Body,
		dl.Length, dl.End, dl.EndAt.Sub(t0).Round(time.Microsecond))
	if dl.Status != 200 || dl.Length != largeSize {
		t.Fatalf("large download: status %d, length %d: %v", dl.Status, dl.Length,
			dl.Outcome)
	}
	if dl.Complete || dl.End != EndReset || dl.Body >= dl.Length {
		t.Errorf("large download: want a reset before the end, got %v after %d of %d "+
			"bytes", dl.End, dl.Body, dl.Length)
	}
	checkAVRecord(t, eve, ClientAddr.String())
}

// TestAVCleanDownloadPasses: a clean 1 MB object downloads whole, twice on
// one connection, nothing is logged, blocked or reset.
func TestAVCleanDownloadPasses(t *testing.T) {
	d, eve, _ := startAV(t)
	ctx, cancel := context.WithTimeout(t.Context(), scenarioBudget)
	defer cancel()
	talk := mustTalk(t, ctx, ClientAddr.String(), avServer, "client-get")
	defer talk.Close()
	for i := range 2 {
		dl := talk.Get(objClean, avWait)
		if !dl.Complete || dl.Status != 200 || dl.Length != cleanSize {
			t.Fatalf("clean download %d: status %d, %d of %d bytes: %v", i, dl.Status,
				dl.Body, dl.Length, dl.Outcome)
		}
	}
	if o := talk.Hold(time.Second); o.End != EndNone {
		t.Errorf("clean download: connection ended afterwards: %v", o)
	}
	recs, err := ReadEVE(eve)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.EventType() == eveAVEvent {
			t.Errorf("clean download logged an antivirus record: %v", r)
		}
	}
	if entries, err := d.CLI().Entries(ctx); err != nil || len(entries) != 0 {
		t.Errorf("clean download: block list %+v, err %v; want empty", entries, err)
	}
}

// checkAVRecord waits for an antivirus EVE record of a test EICAR
// signature sent to client.
func checkAVRecord(t *testing.T, eve, client string) {
	t.Helper()
	r, err := WaitEVE(eve, avWait, func(r EVERecord) bool {
		hit, _ := r["antivirus"].(map[string]any)
		sig, _ := hit["signature"].(string)
		return r.EventType() == eveAVEvent && r["dest_ip"] == client &&
			strings.HasPrefix(sig, "Softips.Test.EICAR")
	})
	if err != nil {
		t.Error(err)
		return
	}
	t.Logf("eve: %s", fmt.Sprint(r["antivirus"]))
}

// logCounters logs the non-zero daemon counters named with one of the
// prefixes.
func logCounters(t *testing.T, ctx context.Context, cli CLI, prefixes ...string) {
	t.Helper()
	st, err := cli.Stats(ctx)
	if err != nil {
		t.Error(err)
		return
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(st)) {
		for _, p := range prefixes {
			if strings.HasPrefix(k, p) && st[k] != 0 {
				parts = append(parts, fmt.Sprintf("%s=%d", k, st[k]))
				break
			}
		}
	}
	t.Logf("counters: %s", strings.Join(parts, " "))
}
