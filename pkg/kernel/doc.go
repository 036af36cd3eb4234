// Package kernel loads the softips XDP classifier, attaches it to the
// mirror interface, keeps its pinned maps equal to the block table it is
// given, and reads what the classifier reports: per-entry hits, counters,
// inject requests and (for detection) mirrored frame snapshots.
//
// It is the only package that touches BPF objects. It never decides what
// to block, never logs, and never imports detection code: callers hand it
// entries and read its rings.
package kernel
