// Package kernel loads the softips XDP classifier, attaches it to the
// mirror interface, keeps its pinned maps equal to the block table it is
// given, and reads what the classifier reports: per-entry hits, counters,
// inject requests and (for detection) mirrored frame snapshots.
//
// The maps are pinned by name under Options.PinPath (default
// /sys/fs/bpf/softips) and carry BTF, so bpftool shows them field by
// field: blocks (masked tuple -> entry id, hits, last hit), addr_filter,
// shapes and shape_slot (the active tuple-space shapes), counters,
// inject_reqs, inject_buckets, mirror_rings, mirror_drops, mirror_bypass.
// For example: bpftool map dump pinned /sys/fs/bpf/softips/blocks.
//
// It is the only package that touches BPF objects. It never decides what
// to block, never logs, and never imports detection code: callers hand it
// entries and read its rings.
package kernel
