// Package api is the control interface of the softips daemon: a small JSON
// HTTP API served on a unix socket (mode 0660, root and group only), its
// wire types, and the client the CLI uses.
//
// It knows nothing of the kernel, the injector or detection: the daemon
// implements Backend. It must never expose the socket to the network.
package api

import (
	"errors"
	"time"
)

// Entry is one block-table entry as the API shows it.
type Entry struct {
	ID          uint64    `json:"id"`
	Spec        string    `json:"spec"`
	Origin      string    `json:"origin"`
	Invariants  int       `json:"invariants"`
	Created     time.Time `json:"created"`
	LastHit     time.Time `json:"last_hit,omitzero"`
	Hits        uint64    `json:"hits"`
	Expires     time.Time `json:"expires,omitzero"`
	ExpiresIn   string    `json:"expires_in"`
	Comment     string    `json:"comment,omitempty"`
	Explanation []string  `json:"explanation,omitempty"`
	Pcap        string    `json:"pcap_filter,omitempty"`
}

// AddRequest asks for an admin block.
type AddRequest struct {
	Spec    string `json:"spec"`
	Comment string `json:"comment,omitempty"`
}

// AddResponse is the entry after an add; Created is false when the spec was
// already an admin entry (adds are idempotent).
type AddResponse struct {
	Entry    Entry `json:"entry"`
	Created  bool  `json:"created"`
	Promoted bool  `json:"promoted,omitempty"` // a detector or derived entry became admin
}

// SignalRequest feeds a block signal from outside softips (a SIEM, a
// script) into invariant extraction, like any detector.
type SignalRequest struct {
	Spec   string `json:"spec"`
	Source string `json:"source,omitempty"`
}

// SignalResponse tells what a signal did to the table.
type SignalResponse struct {
	Installed []Entry  `json:"installed"`
	Decisions []string `json:"decisions,omitempty"`
}

// Error is the body of every non-2xx answer.
type Error struct {
	Error string `json:"error"`
}

// Stats is a flat set of named counters from every stage.
type Stats map[string]uint64

// ErrNotFound is returned by a Backend when the entry does not exist.
var ErrNotFound = errors.New("no such entry")

// ErrBadRequest wraps input errors: the API answers 400 with the message.
var ErrBadRequest = errors.New("bad request")

// Backend is what the daemon provides to the API.
type Backend interface {
	List() []Entry
	Add(req AddRequest) (AddResponse, error)
	// Delete removes the entry named by ref: a numeric id or a spec text.
	Delete(ref string) (Entry, error)
	Explain(id uint64) (Entry, error)
	Signal(req SignalRequest) (SignalResponse, error)
	Stats() Stats
}

// classified marks an error for the API's status code without changing
// its message.
type classified struct{ err, class error }

func (c classified) Error() string   { return c.err.Error() }
func (c classified) Unwrap() []error { return []error{c.err, c.class} }

// BadRequest marks err as the caller's fault: the API answers 400 with
// err's message as it is.
func BadRequest(err error) error { return classified{err, ErrBadRequest} }

// NotFound marks err as naming an entry that does not exist (404).
func NotFound(err error) error { return classified{err, ErrNotFound} }
