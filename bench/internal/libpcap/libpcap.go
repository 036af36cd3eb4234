// Package libpcap is a thin cgo binding to the two libpcap calls the
// benchmarks measure: pcap_compile (optimizer on, as tcpdump runs it) and
// pcap_offline_filter, run in a C loop so no cgo crossing is timed per
// packet. It must never open a live capture.
package libpcap

/*
#cgo LDFLAGS: -lpcap
#include <pcap/pcap.h>
#include <stdlib.h>

static int run_filter(struct bpf_program *fp, const u_char *pkt, bpf_u_int32 len, long iters) {
	struct pcap_pkthdr hdr = {0};
	hdr.caplen = len;
	hdr.len = len;
	int hits = 0;
	for (long i = 0; i < iters; i++)
		hits += pcap_offline_filter(fp, &hdr, pkt) != 0;
	return hits;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// MaxSocketFilterInsns is the kernel's limit on a classic BPF socket filter
// (BPF_MAXINSNS): a longer program cannot be attached with SO_ATTACH_FILTER.
const MaxSocketFilterInsns = 4096

// ErrClosed is returned by Run on a freed program.
var ErrClosed = errors.New("libpcap program freed")

// Program is one compiled classic BPF filter for Ethernet frames.
type Program struct {
	prog C.struct_bpf_program
	ok   bool
}

// Compile compiles expr for Ethernet frames of up to snaplen bytes, with
// libpcap's optimizer on (as tcpdump runs it) or off (tcpdump -O).
func Compile(expr string, snaplen int, optimize bool) (*Program, error) {
	p := C.pcap_open_dead(C.DLT_EN10MB, C.int(snaplen))
	if p == nil {
		return nil, errors.New("pcap_open_dead: no handle")
	}
	defer C.pcap_close(p)
	cexpr := C.CString(expr)
	defer C.free(unsafe.Pointer(cexpr))
	opt := C.int(0)
	if optimize {
		opt = 1
	}
	prog := &Program{}
	if C.pcap_compile(p, &prog.prog, cexpr, opt, C.PCAP_NETMASK_UNKNOWN) != 0 {
		return nil, fmt.Errorf("pcap_compile: %s", C.GoString(C.pcap_geterr(p)))
	}
	prog.ok = true
	return prog, nil
}

// Len is the number of classic BPF instructions.
func (p *Program) Len() int { return int(p.prog.bf_len) }

// Run filters frame iters times and returns how many passed.
func (p *Program) Run(frame []byte, iters int) (int, error) {
	if !p.ok {
		return 0, ErrClosed
	}
	if len(frame) == 0 {
		return 0, errors.New("run filter: empty frame")
	}
	n := C.run_filter(&p.prog, (*C.u_char)(unsafe.Pointer(&frame[0])),
		C.bpf_u_int32(len(frame)), C.long(iters))
	return int(n), nil
}

// Free releases the compiled program.
func (p *Program) Free() {
	if p.ok {
		C.pcap_freecode(&p.prog)
		p.ok = false
	}
}
