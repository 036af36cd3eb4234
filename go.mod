module github.com/softips/softips

go 1.26.8

require (
	github.com/gopacket/gopacket v1.7.7
	github.com/vishvananda/netlink v1.3.1
	github.com/vishvananda/netns v0.0.5
	golang.org/x/sys v0.50.0
)

require golang.org/x/net v0.59.0 // indirect
