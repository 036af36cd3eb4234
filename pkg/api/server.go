package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// maxBody bounds request bodies; a block request is a few hundred bytes.
const maxBody = 64 << 10

// Handler returns the HTTP handler serving b.
func Handler(b Backend) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/blocks", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, b.List())
	})
	mux.HandleFunc("POST /v1/blocks", withBody(func(w http.ResponseWriter, req AddRequest) {
		res, err := b.Add(req)
		code := http.StatusOK
		if res.Created {
			code = http.StatusCreated
		}
		answer(w, code, res, err)
	}))
	mux.HandleFunc("DELETE /v1/blocks/{ref}", func(w http.ResponseWriter, r *http.Request) {
		e, err := b.Delete(r.PathValue("ref"))
		answer(w, http.StatusOK, e, err)
	})
	mux.HandleFunc("GET /v1/blocks/{id}/explain", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
		if err != nil {
			fail(w, fmt.Errorf("%w: entry id %q is not a number", ErrBadRequest, r.PathValue("id")))
			return
		}
		e, err := b.Explain(id)
		answer(w, http.StatusOK, e, err)
	})
	mux.HandleFunc("POST /v1/signals", withBody(func(w http.ResponseWriter, req SignalRequest) {
		res, err := b.Signal(req)
		answer(w, http.StatusOK, res, err)
	}))
	mux.HandleFunc("GET /v1/stats", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, b.Stats())
	})
	mux.Handle("GET /metrics", metricsHandler(b))
	jsonErrors(mux)
	return mux
}

// jsonErrors makes every other path or method answer in JSON too, like
// every error.
func jsonErrors(mux *http.ServeMux) {
	for _, p := range []string{"/v1/blocks", "/v1/blocks/{ref}", "/v1/blocks/{id}/explain",
		"/v1/signals", "/v1/stats", "/metrics"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			reply(w, http.StatusMethodNotAllowed, Error{Error: fmt.Sprintf(
				"method %s not allowed on %s", r.Method, r.URL.Path)})
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusNotFound, Error{Error: fmt.Sprintf("no endpoint %s", r.URL.Path)})
	})
}

// withBody decodes the JSON request body into a Q for f, or answers 400.
func withBody[Q any](f func(http.ResponseWriter, Q)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req Q
		if decode(w, r, &req) {
			f(w, req)
		}
	}
}

// answer writes v with code, or err with its status.
func answer(w http.ResponseWriter, code int, v any, err error) {
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, code, v)
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		fail(w, fmt.Errorf("%w: request body: %v", ErrBadRequest, err))
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		fail(w, fmt.Errorf("%w: request body: trailing data after the JSON object", ErrBadRequest))
		return false
	}
	return true
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrBadRequest):
		code = http.StatusBadRequest
	case errors.Is(err, ErrNotFound):
		code = http.StatusNotFound
	}
	reply(w, code, Error{Error: err.Error()})
}

// Listen opens the unix socket at path with mode 0660, replacing a stale
// socket file but refusing to replace anything else or a live daemon's.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("listen %q: %w", path, err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("listen %q: exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("listen %q: another daemon is serving it", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("listen %q: remove stale socket: %w", path, err)
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen %q: %w", path, err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		l.Close()
		return nil, fmt.Errorf("listen %q: chmod: %w", path, err)
	}
	return l, nil
}

// Serve runs the API on l until ctx ends, then shuts down gracefully.
func Serve(ctx context.Context, l net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return nil
}
