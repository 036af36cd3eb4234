package av

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/softips/softips/pkg/flowspec"
)

func TestWriteEVE(t *testing.T) {
	var b bytes.Buffer
	h := Hit{Signature: "Softips.Test.EICAR.MD5", Kind: "hash", Object: "http-body",
		Hash:        "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",
		ObjectStart: 151, Size: 68}
	flow := FlowInfo{Time: time.Date(2026, 12, 4, 16, 8, 1, 272861000, time.UTC), FlowID: 42,
		Src: netip.MustParseAddrPort("[::ffff:198.51.100.20]:80"),
		Dst: netip.MustParseAddrPort("203.0.113.10:51000"), AppProto: "http"}
	if err := WriteEVE(&b, h, flow); err != nil {
		t.Fatal(err)
	}
	want := `{"timestamp":"2026-12-04T16:08:01.272861+0000","flow_id":42,` +
		`"event_type":"antivirus","src_ip":"198.51.100.20","src_port":80,` +
		`"dest_ip":"203.0.113.10","dest_port":51000,"proto":"TCP","app_proto":"http",` +
		`"antivirus":{"signature":"Softips.Test.EICAR.MD5","kind":"hash",` +
		`"object":"http-body",` +
		`"sha256":"275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",` +
		`"offset":0,"object_start":151,"size":68}}` + "\n"
	if b.String() != want {
		t.Fatalf("got  %s\nwant %s", b.String(), want)
	}
}

func TestBlockSpec(t *testing.T) {
	c4 := netip.MustParseAddrPort("203.0.113.10:51000")
	s4 := netip.MustParseAddrPort("198.51.100.20:80")
	c6 := netip.MustParseAddrPort("[2001:db8::10]:51000")
	s6 := netip.MustParseAddrPort("[2001:db8::20]:443")
	cases := []struct {
		policy       string
		client, serv netip.AddrPort
		want         string
		err          error
	}{
		{"", c4, s4, "203.0.113.10/32 0 198.51.100.20/32 80", nil},
		{"client-server-port", c6, s6, "2001:db8::10/128 0 2001:db8::20/128 443", nil},
		{"client", c4, s4, "203.0.113.10/32 0 0.0.0.0/0 0", nil},
		{"client", c6, s6, "2001:db8::10/128 0 ::/0 0", nil},
		{"pair", c4, s4, "203.0.113.10/32 0 198.51.100.20/32 0", nil},
		{"pair", c4, s6, "", flowspec.ErrMixedFamily},
		{"everyone", c4, s4, "", ErrUnknownPolicy},
	}
	for _, c := range cases {
		sp, err := BlockSpec(c.policy, c.client, c.serv)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%q %v %v: error %v, want %v", c.policy, c.client, c.serv, err, c.err)
			}
			continue
		}
		if err != nil || sp != flowspec.MustParse(c.want) {
			t.Errorf("%q: got %q %v, want %q", c.policy, sp, err, c.want)
		}
	}
}
