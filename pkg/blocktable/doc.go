// Package blocktable is the authoritative block table of softips: every
// spec that is blocked, why, since when, and until when. The kernel maps
// are a mirror of it; the daemon copies Snapshot into them after each
// change it is told about (Options.OnChange), which is the only path from
// a decision to the kernel.
//
// Entries come from three origins. Admin entries never age and end only
// by Delete. Detector entries (one per block signal) and derived entries
// (generalisations made by package invariant) expire when idle for a
// lifetime chosen by their number of fixed fields; a kernel hit refreshes
// them. All entries, with the remaining lifetime of the non-admin ones,
// persist in a state directory through atomic writes.
//
// Guard rails (Guard) refuse what must never be blocked: the sensor, its
// gateways and management network, allowlisted prefixes, over-wide
// prefixes and shapes with too little fixed. Capacity is bounded: a full
// table refuses new non-admin entries (ErrFull) and never evicts.
//
// The package must never log, touch the kernel, or block a protected
// prefix. It is safe for concurrent use.
package blocktable
