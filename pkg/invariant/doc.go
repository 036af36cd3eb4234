// Package invariant finds what repeated block signals have in common and
// widens the block to it. For every signal it considers the signal's
// generalisations (Shape: some fixed fields kept, the others wildcarded),
// counts the distinct signals behind each inside a sliding window, and
// when a count passes the threshold installs the most specific
// generalisation as a derived entry of the block table. The reference
// case: six signals "198.51.100.7 40000 203.0.113.10 P" with six distinct
// P become "198.51.100.7 40000 203.0.113.10 0" on the sixth.
//
// Three rules keep widening honest. A signal already blocked by a wider
// entry widens nothing further (the block it needs exists), though it
// still counts. Only the most specific level that passed is tried; when
// the table refuses it (a guard rail, a full table) nothing wider is tried
// instead, since a refusal must never become a wider block. A guard-rail
// refusal of a generalisation is reported once, not on every signal.
//
// Memory is bounded: generalisations are tracked in an LRU of fixed size
// and each keeps at most threshold+1 signals. Decisions (widened, refused
// and why) are returned as values for the daemon to log.
//
// The package must never log, never install the signal itself (the daemon
// installs every signal as a detector entry), and never go around the
// table's guard rails: every widening is a blocktable.Table.Add.
package invariant
