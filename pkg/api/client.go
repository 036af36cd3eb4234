package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Client talks to a daemon's API over its unix socket.
type Client struct {
	socket string
	hc     *http.Client
}

// NewClient returns a client for the daemon listening on socket.
func NewClient(socket string) *Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}
	return &Client{socket: socket, hc: &http.Client{Transport: tr, Timeout: 15 * time.Second}}
}

// List returns every block-table entry.
func (c *Client) List() ([]Entry, error) {
	var out []Entry
	return out, c.do(http.MethodGet, "/v1/blocks", nil, &out)
}

// Add installs an admin block.
func (c *Client) Add(req AddRequest) (AddResponse, error) {
	var out AddResponse
	return out, c.do(http.MethodPost, "/v1/blocks", req, &out)
}

// Delete removes an entry by id or spec text.
func (c *Client) Delete(ref string) (Entry, error) {
	var out Entry
	return out, c.do(http.MethodDelete, "/v1/blocks/"+url.PathEscape(ref), nil, &out)
}

// Explain returns an entry with its explanation.
func (c *Client) Explain(id uint64) (Entry, error) {
	var out Entry
	return out, c.do(http.MethodGet, fmt.Sprintf("/v1/blocks/%d/explain", id), nil, &out)
}

// Signal feeds a block signal to the daemon.
func (c *Client) Signal(req SignalRequest) (SignalResponse, error) {
	var out SignalResponse
	return out, c.do(http.MethodPost, "/v1/signals", req, &out)
}

// Stats returns the daemon's counters.
func (c *Client) Stats() (Stats, error) {
	var out Stats
	return out, c.do(http.MethodGet, "/v1/stats", nil, &out)
}

func (c *Client) do(method, path string, in, out any) error {
	var body bytes.Buffer
	if in != nil {
		if err := json.NewEncoder(&body).Encode(in); err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
	}
	req, err := http.NewRequest(method, "http://softips"+path, &body)
	if err != nil {
		return err
	}
	res, err := c.hc.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) {
			return fmt.Errorf("daemon not reachable on %q (is `softips run` up?): %w",
				c.socket, op.Err)
		}
		return fmt.Errorf("daemon on %q: %w", c.socket, err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		var e Error
		if json.NewDecoder(res.Body).Decode(&e) == nil && e.Error != "" {
			return errors.New(e.Error)
		}
		return fmt.Errorf("daemon answered %s", res.Status)
	}
	return json.NewDecoder(res.Body).Decode(out)
}
