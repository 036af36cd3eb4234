// Package inject ends blocked TCP conversations from the side: it builds
// spoofed RST segments with the exact sequence numbers RFC 5961 demands,
// sends them through a TPACKET_V3 transmit ring on the management
// interface, and follows each reset flow until it goes quiet (confirmed) or
// keeps talking past its budget (unconfirmed).
//
// The pieces are separate on purpose:
//   - BuildResets is pure: a Trigger in, Ethernet frames out, checksums
//     computed in software, no allocation when given reused buffers;
//   - Sender owns the socket, the ring and the next-hop (route and
//     neighbour) lookups of the management interface;
//   - Tracker decides which triggers are answered, with what, and reports
//     the outcome of each flow through counters and events.
//
// The package must never send a RST for a flow with a protected endpoint,
// never answer a RST (its own come back on the mirror), never batch or
// delay frames on a timer, and never log: callers get errors, counters and
// events, and the daemon decides what to write down.
package inject
