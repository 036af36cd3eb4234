package detect

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"gopkg.in/yaml.v3"

	"github.com/softips/softips/internal/testenv"
)

// This file is a small stand-in for the pipeline: it replays corpus pcaps
// through the engine with naive in-order reassembly, so the detection
// semantics can be checked against suricata-verify expectations here.

type replayFlow struct {
	fs          *FlowState
	client      netip.AddrPort
	synAck      bool
	established bool
	fins        int
	have        [2]bool
	next        [2]uint32
	stream      [2][]byte
}

type replayAlert struct {
	Alert
	pktNo int // kept for debugging; the checks ignore pcap_cnt
}

type replayer struct {
	e         *Engine
	midstream bool
	flows     map[[2]netip.AddrPort]*replayFlow
	alerts    []replayAlert
}

func flowKey(a, b netip.AddrPort) [2]netip.AddrPort {
	if a.Compare(b) < 0 {
		return [2]netip.AddrPort{a, b}
	}
	return [2]netip.AddrPort{b, a}
}

func (r *replayer) flow(src, dst netip.AddrPort, tcp *layers.TCP) *replayFlow {
	k := flowKey(src, dst)
	f := r.flows[k]
	if f != nil {
		return f
	}
	f = &replayFlow{fs: NewFlowState(), client: src}
	if !tcp.SYN || tcp.ACK {
		if tcp.SYN && tcp.ACK || src.Port() < 1024 && dst.Port() >= 1024 {
			f.client = dst
		}
		f.established = r.midstream
	}
	r.flows[k] = f
	return f
}

func (f *replayFlow) track(toServer bool, tcp *layers.TCP) {
	switch {
	case tcp.RST:
		f.established = false
	case tcp.SYN && tcp.ACK && !toServer:
		f.synAck = true
	case tcp.ACK && toServer && f.synAck && f.fins == 0:
		f.established = true
	}
	if tcp.FIN {
		f.fins++
	} else if f.fins >= 2 && tcp.ACK {
		f.established = false
	}
}

// reassemble appends the in-order new part of the payload to the stream
// of its direction and returns the window and the count of new bytes.
func (f *replayFlow) reassemble(d int, tcp *layers.TCP, payload []byte) ([]byte, int) {
	seq := tcp.Seq
	if tcp.SYN {
		seq++
	}
	if !f.have[d] {
		f.have[d], f.next[d] = true, seq
	}
	diff := int32(seq - f.next[d])
	if diff > 0 {
		f.stream[d], f.next[d] = f.stream[d][:0], seq
		diff = 0
	}
	if skip := int(-diff); skip < len(payload) {
		payload = payload[skip:]
	} else {
		payload = nil
	}
	if n := len(f.stream[d]); n > 8192 {
		f.stream[d] = append(f.stream[d][:0], f.stream[d][n-4096:]...)
	}
	f.stream[d] = append(f.stream[d], payload...)
	f.next[d] += uint32(len(payload))
	if tcp.FIN {
		f.next[d]++
	}
	return f.stream[d], len(payload)
}

func (r *replayer) packet(no int, p gopacket.Packet) {
	tcpL, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if tcpL == nil || p.NetworkLayer() == nil {
		return
	}
	srcIP, _ := netip.AddrFromSlice(p.NetworkLayer().NetworkFlow().Src().Raw())
	dstIP, _ := netip.AddrFromSlice(p.NetworkLayer().NetworkFlow().Dst().Raw())
	src := netip.AddrPortFrom(srcIP, uint16(tcpL.SrcPort))
	dst := netip.AddrPortFrom(dstIP, uint16(tcpL.DstPort))
	f := r.flow(src, dst, tcpL)
	toServer := src == f.client
	f.track(toServer, tcpL)
	d := 1
	if toServer {
		d = 0
	}
	stream, newData := f.reassemble(d, tcpL, tcpL.Payload)
	in := &Input{Flow: f.fs, Src: src, Dst: dst, ToServer: toServer,
		Established: f.established, Flags: tcpFlags(tcpL), Payload: tcpL.Payload,
		Stream: stream, NewData: newData, Time: p.Metadata().Timestamp}
	r.e.Inspect(in, func(a Alert) { r.alerts = append(r.alerts, replayAlert{a, no}) })
}

func tcpFlags(t *layers.TCP) uint8 {
	var f uint8
	for _, b := range []struct {
		on  bool
		bit uint8
	}{{t.FIN, FlagFIN}, {t.SYN, FlagSYN}, {t.RST, FlagRST}, {t.PSH, FlagPSH},
		{t.ACK, FlagACK}, {t.URG, FlagURG}, {t.ECE, FlagECE}, {t.CWR, FlagCWR}} {
		if b.on {
			f |= b.bit
		}
	}
	return f
}

// replayFile reads a classic pcap file (either byte order, micro- or
// nanosecond stamps) and feeds every frame to r.
func replayFile(path string, r *replayer) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if len(raw) < 24 {
		return fmt.Errorf("%s: short pcap header", path)
	}
	var bo binary.ByteOrder = binary.LittleEndian
	nano := false
	switch binary.LittleEndian.Uint32(raw) {
	case 0xa1b2c3d4:
	case 0xa1b23c4d:
		nano = true
	case 0xd4c3b2a1:
		bo = binary.BigEndian
	case 0x4d3cb2a1:
		bo, nano = binary.BigEndian, true
	default:
		return fmt.Errorf("%s: not a pcap file", path)
	}
	link := layers.LinkType(bo.Uint32(raw[20:]))
	for off, no := 24, 1; off+16 <= len(raw); no++ {
		sec, frac := int64(bo.Uint32(raw[off:])), int64(bo.Uint32(raw[off+4:]))
		n := int(bo.Uint32(raw[off+8:]))
		off += 16
		if off+n > len(raw) {
			return fmt.Errorf("%s: truncated record %d", path, no)
		}
		p := gopacket.NewPacket(raw[off:off+n], link, gopacket.Default)
		if !nano {
			frac *= 1000
		}
		p.Metadata().Timestamp = time.Unix(sec, frac)
		r.packet(no, p)
		off += n
	}
	return nil
}

type svCheck struct {
	Filter *struct {
		Count int            `yaml:"count"`
		Match map[string]any `yaml:"match"`
	} `yaml:"filter"`
}

type svTest struct {
	Args   []string  `yaml:"args"`
	Checks []svCheck `yaml:"checks"`
}

// flatten turns nested yaml maps into dotted keys, as the EVE filters use.
func flatten(prefix string, m map[string]any, out map[string]any) map[string]any {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			flatten(prefix+k+".", sub, out)
			continue
		}
		out[prefix+k] = v
	}
	return out
}

// alertCheck reports whether the check is about alerts and, if so,
// whether a satisfies its match.
func alertCheck(m map[string]any) (bool, func(replayAlert) bool) {
	isAlert := false
	for k, v := range m {
		// has-key asks for logged app-layer metadata, not detection
		if k == "event_type" && v != "alert" || k == "has-key" {
			return false, nil
		}
		if k == "event_type" || strings.HasPrefix(k, "alert.") {
			isAlert = true
		}
	}
	return isAlert, func(a replayAlert) bool {
		for k, v := range m {
			var got any
			switch k {
			case "alert.signature_id":
				got = int(a.Rule.SID)
			case "alert.signature":
				got = a.Rule.Msg
			case "src_port":
				got = int(a.Src.Port())
			case "dest_port":
				got = int(a.Dst.Port())
			case "src_ip":
				got = a.Src.Addr().String()
			case "dest_ip":
				got = a.Dst.Addr().String()
			default: // pcap_cnt too: Suricata defers some inspection to ACKs
				continue
			}
			if fmt.Sprint(got) != fmt.Sprint(v) {
				return false
			}
		}
		return true
	}
}

func runSVCase(dir string) (failures []string, err error) {
	raw, err := os.ReadFile(filepath.Join(dir, "test.yaml"))
	if err != nil {
		return nil, err
	}
	var tc svTest
	if err := yaml.Unmarshal(raw, &tc); err != nil {
		return nil, err
	}
	rules, _ := filepath.Glob(filepath.Join(dir, "*.rules"))
	rs, _, err := LoadFiles(nil, rules...)
	if err != nil {
		return nil, err
	}
	args := strings.Join(tc.Args, " ")
	if strings.Contains(args, "threshold-file") {
		fh, err := os.Open(filepath.Join(dir, "threshold.config"))
		if err != nil {
			return nil, err
		}
		_, err = rs.ApplyThresholdConfig("threshold.config", fh, nil)
		fh.Close()
		if err != nil {
			return nil, err
		}
	}
	r := &replayer{e: NewEngine(rs, Options{}), flows: map[[2]netip.AddrPort]*replayFlow{},
		midstream: strings.Contains(args, "stream.midstream=true")}
	pcaps, _ := filepath.Glob(filepath.Join(dir, "*.pcap"))
	if len(pcaps) != 1 {
		return nil, fmt.Errorf("%d pcaps in %s", len(pcaps), dir)
	}
	if err := replayFile(pcaps[0], r); err != nil {
		return nil, err
	}
	for _, c := range tc.Checks {
		if c.Filter == nil {
			continue
		}
		ok, match := alertCheck(flatten("", c.Filter.Match, map[string]any{}))
		if !ok {
			continue
		}
		n := 0
		for _, a := range r.alerts {
			if match(a) {
				n++
			}
		}
		if n != c.Filter.Count {
			failures = append(failures, fmt.Sprintf("%v: %d alerts, want %d",
				c.Filter.Match, n, c.Filter.Count))
		}
	}
	return failures, nil
}

// TestSuricataVerifyReplay runs every corpus case through the stand-in
// replayer and checks the alert counts of its test.yaml (pcap_cnt and
// has-key, which are about Suricata's timing and logging, are ignored).
func TestSuricataVerifyReplay(t *testing.T) {
	root := filepath.Join(testenv.Corpus(t), "suricata-verify")
	dirs, _ := filepath.Glob(filepath.Join(root, "*", "test.yaml"))
	sort.Strings(dirs)
	passed := 0
	for _, y := range dirs {
		dir := filepath.Dir(y)
		name := filepath.Base(dir)
		fails, err := runSVCase(dir)
		switch {
		case err != nil:
			t.Errorf("%s: %v", name, err)
		case len(fails) == 0:
			passed++
		default:
			t.Errorf("%s: %s", name, strings.Join(fails, "; "))
		}
	}
	t.Logf("suricata-verify: %d/%d cases pass with the stand-in replayer", passed, len(dirs))
}

// TestCorpusPcaps checks rules of our own against the facts MANIFEST.md
// states for the other corpus captures (scans, brute force, testmyids).
func TestCorpusPcaps(t *testing.T) {
	dir := filepath.Join(testenv.Corpus(t), "pcaps")
	tests := []struct {
		pcap, rule string
		want       int
	}{
		{"zeek-http-testmyids.pcap", `alert ip any any -> any any (msg:"GPL ATTACK_RESPONSE ` +
			`id check returned root"; content:"uid=0|28|root|29|"; classtype:bad-unknown; ` +
			`sid:2100498; rev:7;)`, 1},
		{"zeek-http-testmyids.pcap", `alert ip any any -> any any (content:"uid=0|28|root|29|"; ` +
			`flow:established,to_client; sid:1;)`, 1},
		{"esnet-masscan-tcp_0_1000.pcap", `alert tcp any any -> any any (flags:S; ` +
			`detection_filter:track by_src, count 20, seconds 60; sid:1;)`, 981},
		{"esnet-masscan-tcp_0_1000.pcap", `alert tcp any any -> any any (flags:S; ` +
			`threshold:type limit, track by_src, count 3, seconds 60; sid:1;)`, 3},
		{"esnet-nmap_80_w_service_detection.pcap", `alert tcp any any -> any any ` +
			`(flow:to_server,established; content:"Nmap Scripting Engine"; sid:1;)`, 4},
		{"zeek-ftp-bruteforce.pcap", `alert tcp any 21 -> any any (flow:to_client,established; ` +
			`content:"530 "; startswith; sid:1;)`, 30}, // 30 replies (tcpdump agrees)
		{"zeek-ftp-bruteforce.pcap", `alert tcp any 21 -> any any (flow:to_client,established; ` +
			`content:"530 "; threshold:type threshold, track by_dst, count 5, ` +
			`seconds 60; sid:1;)`, 6},
		{"zeek-ssh-sshguess.pcap", `alert tcp any any -> any 22 (flags:S; ` +
			`detection_filter:track by_src, count 10, seconds 120; sid:1;)`, 1},
	}
	for _, tt := range tests {
		rs, skipped, err := LoadReader("t", strings.NewReader(tt.rule), nil)
		if err != nil || len(skipped) > 0 {
			t.Fatalf("%s: %v %v", tt.rule, err, skipped)
		}
		r := &replayer{e: NewEngine(rs, Options{}), flows: map[[2]netip.AddrPort]*replayFlow{}}
		if err := replayFile(filepath.Join(dir, tt.pcap), r); err != nil {
			t.Fatalf("%s: %v", tt.pcap, err)
		}
		if got := len(r.alerts); got != tt.want {
			t.Errorf("%s with %s: %d alerts, want %d", tt.pcap, tt.rule, got, tt.want)
		}
	}
}
