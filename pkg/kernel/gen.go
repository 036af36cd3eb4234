package kernel

// The classifier is compiled once and its object and Go bindings are
// committed, so building softips needs no clang. Regenerate after editing
// bpf/softips.c or bpf/softips.h with: go generate ./pkg/kernel/...
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -output-stem softips -type softips_counter -type softips_shape -type softips_inject_req -type softips_mirror_hdr -type softips_flow_key bpf ../../bpf/softips.c -- -O2 -g -Wall -I../../bpf -I/usr/include/x86_64-linux-gnu
