// Package detect parses a subset of Suricata rule syntax and matches the
// rules against TCP packets, reassembled stream windows and HTTP/1.x
// transactions seen on a mirror port.
//
// A RuleSet is loaded once (LoadFiles, LoadReader) and shared; an Engine
// built from it inspects packets for any number of flows, each of which
// carries its own FlowState (flowbits, HTTP parser state, per-flow
// thresholds). Candidate rules are chosen by an Aho-Corasick prefilter over
// the rules' contents (for HTTP buffers, each rule's fast pattern), so the
// cost of a packet grows with the number of rules that could match it, not
// with the size of the rule set.
//
// Evaluation follows Suricata where the corpus pins it down: rules run in
// action order (pass, drop, reject, alert), flowbit writers before readers;
// a matching pass rule silences its packet; stream matches must end in the
// packet's new data so a pattern alerts once; an HTTP rule alerts at most
// once per transaction.
//
// Rules the package cannot honour exactly are skipped at load time with a
// typed error naming file, line, sid and keyword; they are never matched
// approximately. The package never logs, never panics on input and never
// acts on an alert: turning alerts into blocks is the caller's business.
package detect
