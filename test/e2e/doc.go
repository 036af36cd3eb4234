//go:build linux

// Package e2e is the end-to-end harness of softips: it drives the lab of
// network namespaces built by scripts/lab.sh (DESIGN.md §10), runs traffic
// applications inside those namespaces from Go, and reports what each
// endpoint saw (bytes through, a reset, an EOF, and when).
//
// Its scenario tests start the softips daemon in sips-sensor, block flows
// through the CLI and assert that real connections end on both sides.
//
// It must never send a packet outside the lab's namespaces, never change
// the root namespace, and never run a loop unbounded in count or time.
package e2e
