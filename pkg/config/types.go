package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a time.Duration written as Go writes it ("100s", "10m",
// "8760h") or in whole days or years ("30d", "1y" = 365 days).
type Duration time.Duration

// UnmarshalYAML reads a duration scalar.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseDuration(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		return fmt.Errorf("line %d: %q is not a duration (e.g. 100s, 10m, 30d, 1y)",
			n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	unit := map[string]time.Duration{"d": 24 * time.Hour, "y": 365 * 24 * time.Hour}
	for suf, u := range unit {
		if num, ok := strings.CutSuffix(s, suf); ok {
			n, err := strconv.ParseUint(num, 10, 16)
			if err != nil {
				return 0, err
			}
			return time.Duration(n) * u, nil
		}
	}
	return time.ParseDuration(s)
}

// MarshalYAML writes the duration as Go does.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// String formats the duration as Go does.
func (d Duration) String() string { return time.Duration(d).String() }

// Prefix is an address prefix; a bare address is a host (/32, /128).
// Host bits under the mask are an error, never silently cleared.
type Prefix netip.Prefix

// UnmarshalYAML reads an address or prefix scalar.
func (p *Prefix) UnmarshalYAML(n *yaml.Node) error {
	v, err := parsePrefix(n.Value)
	if n.Kind != yaml.ScalarNode && err == nil {
		err = errors.New("want a single address or prefix")
	}
	if err != nil {
		return fmt.Errorf("line %d: %q: %v", n.Line, n.Value, err)
	}
	*p = Prefix(v)
	return nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, errors.New("not an IP address or prefix")
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, errors.New("not an IP address or prefix")
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("host bits set under /%d (did you mean %s?)",
			p.Bits(), m)
	}
	return p, nil
}

// MarshalYAML writes the prefix in its usual text form.
func (p Prefix) MarshalYAML() (any, error) { return netip.Prefix(p).String(), nil }
