package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/softips/softips/pkg/flowspec"
)

// mode is one way of handing the table to libpcap: the rendering and the
// optimizer setting.
type mode struct {
	untagged bool // only the untagged third of flowspec's rendering
	optimize bool
}

// parseMode reads "full-opt", "untagged-noopt" and the like.
func parseMode(s string) (mode, error) {
	render, opt, ok := strings.Cut(s, "-")
	if !ok || (render != "full" && render != "untagged") || (opt != "opt" && opt != "noopt") {
		return mode{}, fmt.Errorf("mode %q: want full|untagged-opt|noopt", s)
	}
	return mode{untagged: render == "untagged", optimize: opt == "opt"}, nil
}

func (m mode) String() string {
	s := "full-"
	if m.untagged {
		s = "untagged-"
	}
	if m.optimize {
		return s + "opt"
	}
	return s + "noopt"
}

func (m mode) label() string {
	s := "flowspec rendering"
	if m.untagged {
		s = "untagged-only rendering"
	}
	if m.optimize {
		return s + ", optimizer on"
	}
	return s + ", optimizer off (tcpdump -O)"
}

// render returns the filter text for specs in this mode.
func (m mode) render(specs []flowspec.Spec) (string, error) {
	full := flowspec.PcapFilterSet(specs)
	if !m.untagged {
		return full, nil
	}
	return untaggedPart(full)
}

// fullForm is how flowspec.PcapFilterSet wraps its untagged expression U
// for one and two VLAN tags. untaggedPart checks the text against it, so a
// change of the rendering is an error here, never a silently wrong filter.
const fullForm = "(%[1]s) or (vlan and ((%[1]s) or (vlan and (%[1]s))))"

var errRendering = errors.New("flowspec.PcapFilterSet no longer has the form " +
	"U or (vlan and (U or (vlan and U)))")

// untaggedPart extracts U, the filter without its VLAN branches: fewer
// instructions, so libpcap gets the cheaper job (it would miss tagged
// frames, which the benchmark frames are not).
func untaggedPart(full string) (string, error) {
	overhead := len(fmt.Sprintf(fullForm, ""))
	if len(full) < overhead || (len(full)-overhead)%3 != 0 {
		return "", errRendering
	}
	u := full[1 : 1+(len(full)-overhead)/3]
	if fmt.Sprintf(fullForm, u) != full {
		return "", errRendering
	}
	return u, nil
}
