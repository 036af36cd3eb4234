// Package pipeline turns captured frames into per-flow TCP events: it
// decodes link layers, VLAN tags, IPv4/IPv6 and TCP without allocating,
// keeps a bounded flow table with TCP state per worker, reassembles each
// direction in order with bounded memory, and hands every packet, with
// the in-order stream bytes it completed, to an Inspector.
//
// It must never drop a segment for a bad checksum (mirrored and captured
// traffic often carries offloaded ones), never panic on input, never take
// a global lock or allocate per packet on the in-order path, and never
// lose count: every frame it does not inspect is counted by reason.
//
// A Worker is single-goroutine; a Pipeline shards frames over workers by
// a symmetric flow hash. Events and their slices are valid only during
// the Inspect call, and a Flow must not be kept after FlowEnd.
package pipeline
