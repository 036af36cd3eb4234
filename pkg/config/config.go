// Package config reads the softips configuration file (YAML): invariant
// extraction, the block table and its aging, the guard rails, and the
// sections later stages read (detect, inject, av). Every key has a
// default (Default), unknown keys are errors, and every invalid value is
// reported with its key and line.
//
// It must never do more than read and check: it opens no socket, touches
// no kernel state and never logs.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole file.
type Config struct {
	Invariant Invariant `yaml:"invariant"`
	Table     Table     `yaml:"table"`
	Guard     Guard     `yaml:"guard"`
	Detect    Detect    `yaml:"detect"`
	Inject    Inject    `yaml:"inject"`
	AV        AV        `yaml:"av"`
}

// Invariant configures invariant extraction (DESIGN §4).
type Invariant struct {
	Threshold  int      `yaml:"threshold"`   // widen on more than this many distinct signals
	Window     Duration `yaml:"window"`      // sliding window of the count
	Lattice    []string `yaml:"lattice"`     // shapes, e.g. "src sport dst"; empty: all
	MaxTracked int      `yaml:"max_tracked"` // generalisations tracked at once
}

// Table configures the block table (DESIGN §5).
type Table struct {
	StateDir   string     `yaml:"state_dir"`   // persistence; "" keeps nothing
	MaxEntries int        `yaml:"max_entries"` // detector and derived entries
	MaxAdmin   int        `yaml:"max_admin"`   // admin entries, a separate cap
	MaxExplain int        `yaml:"max_explain"` // signals kept per explanation
	Lifetimes  []Duration `yaml:"lifetimes"`   // idle lifetime by fixed fields 1..4
}

// Guard configures the guard rails. The four prefix lists are all
// protected; they differ only in the label refusals name.
type Guard struct {
	RequireAddress bool     `yaml:"require_address"`
	MinInvariants  int      `yaml:"min_invariants"`
	MaxWidthV4     int      `yaml:"max_width_v4"` // no fixed prefix shorter; 0: off
	MaxWidthV6     int      `yaml:"max_width_v6"`
	Sensor         []Prefix `yaml:"sensor"`
	Gateways       []Prefix `yaml:"gateways"`
	Management     []Prefix `yaml:"management"`
	NeverBlock     []Prefix `yaml:"never_block"`
}

// Detect configures detection (read by package detect).
type Detect struct {
	Rules        []string          `yaml:"rules"`         // rule files
	Vars         map[string]string `yaml:"vars"`          // rule variables: HOME_NET, ...
	Promote      []string          `yaml:"promote"`       // rule actions that block
	MultiSession []MultiSession    `yaml:"multi_session"` // thresholds across connections
	// SnapLen is how many payload bytes of each segment the kernel hands
	// to detection (the whole record stays within 2,048 bytes).
	SnapLen int `yaml:"snap_len"`
	// StreamDepth is how many payload bytes of a flow (both directions)
	// are inspected; past it the kernel stops mirroring the flow's payload.
	StreamDepth int `yaml:"stream_depth"`
}

// MultiSession is one rule counting across connections.
type MultiSession struct {
	Name      string   `yaml:"name"`
	By        string   `yaml:"by"`        // src, dst or pair
	Classtype string   `yaml:"classtype"` // count only alerts of this classtype; "": all
	Count     int      `yaml:"count"`     // signal when more alerts than this
	Window    Duration `yaml:"window"`    // within this time
	Keep      string   `yaml:"keep"`      // fields the block signal keeps, e.g. "src"
}

// Inject configures active response (read by package inject).
type Inject struct {
	TTL          int      `yaml:"ttl"`           // RST TTL when the impersonated side was not seen
	FixedTTL     int      `yaml:"fixed_ttl"`     // if set, every RST's TTL; 0: copy the observed one
	FlowBurst    int      `yaml:"flow_burst"`    // inject requests one flow may raise at once
	FlowInterval Duration `yaml:"flow_interval"` // one more request per flow after this long
	ExtraBudget  int      `yaml:"extra_budget"`  // later segments of a flow answered with RSTs
	QuietTime    Duration `yaml:"quiet_time"`    // silence after which a reset is confirmed
	RetryEvery   Duration `yaml:"retry_every"`   // past the budget, answer a flow this often
}

// AV configures the network antivirus (read by package av).
type AV struct {
	Signatures   []string `yaml:"signatures"`     // ClamAV-format signature files
	MaxScanBytes int      `yaml:"max_scan_bytes"` // per stream
	// Policy is which fields a hit's block signal keeps: client-server-port
	// (client/32 0 server/32 port, the default), client or pair.
	Policy string `yaml:"policy"`
}

// Default returns the configuration of DESIGN §4-5 and of the later
// sections, with nothing protected (the file names the sensor, gateways
// and management network).
func Default() *Config {
	return &Config{
		Invariant: Invariant{Threshold: 5, Window: Duration(10 * time.Minute),
			MaxTracked: 65536},
		Table: Table{StateDir: "/var/lib/softips", MaxEntries: 65536, MaxAdmin: 4096,
			MaxExplain: 16, Lifetimes: []Duration{Duration(365 * 24 * time.Hour),
				Duration(10 * time.Minute), Duration(100 * time.Second),
				Duration(100 * time.Second)}},
		Guard: Guard{RequireAddress: true, MinInvariants: 1, MaxWidthV4: 16,
			MaxWidthV6: 48},
		Detect: Detect{Vars: map[string]string{"HOME_NET": "any", "EXTERNAL_NET": "any"},
			Promote: []string{"drop", "reject"}, SnapLen: 1600, StreamDepth: 1 << 20},
		Inject: Inject{TTL: 64, FlowBurst: 8, FlowInterval: Duration(20 * time.Millisecond),
			ExtraBudget: 8, QuietTime: Duration(2 * time.Second),
			RetryEvery: Duration(250 * time.Millisecond)},
		AV: AV{MaxScanBytes: 1 << 20, Policy: "client-server-port"},
	}
}

// Load reads and validates the file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("load config %q: %w", path, err)
	}
	return c, nil
}

// Parse reads one YAML document over Default and validates the result.
// An empty document is the default configuration. Lists in the file
// replace the default lists; detect.vars adds to the default variables.
func Parse(data []byte) (*Config, error) {
	c := Default()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(c)
	if errors.Is(err, io.EOF) {
		return Default(), nil
	}
	if err != nil {
		return nil, err
	}
	var extra yaml.Node
	if dec.Decode(&extra) != io.EOF {
		return nil, fmt.Errorf("line %d: only one YAML document is allowed", extra.Line)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	if err := c.validate(&root); err != nil {
		return nil, err
	}
	return c, nil
}
