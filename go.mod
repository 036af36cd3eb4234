module github.com/softips/softips

go 1.26.8

require (
	github.com/cilium/ebpf v0.22.0
	github.com/gopacket/gopacket v1.7.7
	golang.org/x/sys v0.50.0
)

require (
	golang.org/x/net v0.59.0 // indirect
)
