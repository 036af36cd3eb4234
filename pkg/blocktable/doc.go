// Package blocktable is the authoritative block table of softips: every
// spec that is blocked, why, since when, and until when. The kernel maps
// mirror it. Each change to the set of entries (add, delete, expiry, an
// admin superseding an automatic entry) bumps a generation and calls
// Options.OnChange; the daemon answers by copying Snapshot into the
// kernel, its only path from a decision to the kernel. Refreshes and hit
// counts change no generation: the kernel holds nothing of them.
//
// Entries come from three origins. Admin entries never age and end only
// by Delete. Detector entries (one per block signal) and derived entries
// (generalisations made by package invariant) expire when idle for a
// lifetime set by their number of fixed fields (Lifetimes); a kernel hit
// (ApplyHits) or the same signal again refreshes them. A spec and its
// reverse block the same packets and are one entry.
//
// Guard rails (Guard) refuse what must never be blocked. The protected
// prefixes (sensor, gateways, management, never_block) bind every origin,
// admin included: an administrator changes the configuration, not the
// rule. The shape rails (a fixed address, min_invariants, prefix widths)
// bind detector and derived entries only.
//
// Capacity: MaxEntries bounds detector and derived entries together, and
// a full table refuses new ones with ErrFull, evicting nothing. Admin
// entries have their own hard cap, MaxAdmin (ErrAdminFull), so a flood of
// automatic entries never locks the administrator out; the kernel maps
// hold MaxEntries+MaxAdmin.
//
// Persistence: with a state directory, every entry is kept in one JSON
// lines file replaced atomically (temp file, fsync, rename, fsync of the
// directory). Admin changes are on disk before the call returns and are
// undone if the write fails; automatic changes are written by Flush,
// which the daemon calls on its aging tick and at shutdown. Automatic
// entries keep the idle lifetime they had left: downtime is not idle
// time, and a wrong clock at boot changes nothing. Loading re-applies the
// guard rails: an automatic entry they now refuse is dropped and counted,
// an admin one stops the load with an error naming it.
//
// The package must never log, touch the kernel, or block a protected
// prefix. It is safe for concurrent use.
package blocktable
