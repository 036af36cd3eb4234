package av_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"time"

	"github.com/softips/softips/pkg/av"
)

// A pipeline worker keeps one Stream per flow direction, writes the
// reassembled bytes in order, and turns hits into EVE lines and block
// signals.
func Example() {
	db, skipped, err := av.LoadFiles("testdata/eicar.ndb", "testdata/eicar.hdb")
	if err != nil || len(skipped) > 0 {
		fmt.Println(err, skipped)
		return
	}
	client := netip.MustParseAddrPort("203.0.113.10:51000")
	server := netip.MustParseAddrPort("198.51.100.20:80")
	flow := av.FlowInfo{Time: time.Unix(0, 0).UTC(), Src: server, Dst: client}

	toClient := db.NewStream(av.StreamOptions{OnHit: func(h av.Hit) {
		if h.Kind == "hash" {
			var line, pretty bytes.Buffer
			av.WriteEVE(&line, h, flow)
			json.Indent(&pretty, line.Bytes(), "", " ")
			fmt.Print(pretty.String())
			spec, _ := av.BlockSpec("", client, server)
			fmt.Println("block", spec)
		}
	}})
	toClient.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 68\r\n\r\nX5O!P%@AP[4\\PZX54"))
	toClient.Write([]byte("(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"))
	toClient.Close()
	fmt.Println(len(toClient.Hits()), "hits")
	// Output:
	// {
	//  "timestamp": "1970-01-01T00:00:00.000000+0000",
	//  "event_type": "antivirus",
	//  "src_ip": "198.51.100.20",
	//  "src_port": 80,
	//  "dest_ip": "203.0.113.10",
	//  "dest_port": 51000,
	//  "proto": "TCP",
	//  "antivirus": {
	//   "signature": "Softips.Test.EICAR.MD5",
	//   "kind": "hash",
	//   "object": "http-body",
	//   "sha256": "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",
	//   "offset": 0,
	//   "object_start": 39,
	//   "size": 68
	//  }
	// }
	// block 203.0.113.10 0 198.51.100.20 80
	// 8 hits
}
