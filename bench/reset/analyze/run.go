package main

import (
	"fmt"
	"net/netip"
	"sort"
)

// challengeWindow is how soon after an inexact RST an endpoint's ACK of
// its unchanged receive point counts as the challenge ACK it provoked. The
// kernel sends that ACK while it handles the RST, so it comes at once and
// before the endpoint handles any further segment; an ACK after more data
// has arrived is an ordinary one.
const challengeWindow = 2_000_000 // ns

// endReport is what bench/reset/endpoint prints when it stops.
type endReport struct {
	Role     string `json:"role"`
	EndNs    int64  `json:"end_ns"`
	End      string `json:"end"`
	Sent     int64  `json:"sent"`
	Received int64  `json:"received"`
}

// runInput is one reset run: the block time, the connection and where its
// captures are.
type runInput struct {
	Tool, Mode     string
	BlockNs        int64 // the block was issued
	ReadyNs        int64 // the blocker said it was in place (0: unknown)
	Client, Server netip.Addr
	Port           uint16 // the server's port
	ClientSegs     []segment
	ServerSegs     []segment
	SensorSegs     []segment // what the sensor sent from its injection side
	ClientEnd      endReport
	ServerEnd      endReport
}

// runResult is what one run measured.
type runResult struct {
	Tool          string  `json:"tool"`
	Mode          string  `json:"mode"`
	BothReset     bool    `json:"both_reset"`
	ResetMs       float64 `json:"reset_ms"` // first packet after the block to the later reset
	ReadyMs       float64 `json:"ready_ms"` // block issued to blocker in place
	RSTSent       int     `json:"rst_sent"`
	RSTReceived   int     `json:"rst_received"`
	BytesThrough  int64   `json:"bytes_through"` // payload reaching either end after the trigger
	ChallengeACKs int     `json:"challenge_acks"`
	ExactFirst    int     `json:"exact_first"` // ends whose first RST had the exact seq (0-2)
	Note          string  `json:"note,omitempty"`
}

// endpointView is what one endpoint's capture says about the run.
type endpointView struct {
	rstIn      int
	bytesAfter int64
	challenges int
	exactFirst bool
}

func analyzeRun(in runInput) runResult {
	res := runResult{Tool: in.Tool, Mode: in.Mode}
	if in.ReadyNs > in.BlockNs {
		res.ReadyMs = float64(in.ReadyNs-in.BlockNs) / 1e6
	}
	cs, ss := in.conn(in.ClientSegs), in.conn(in.ServerSegs)
	t0, ok := in.trigger(cs, ss)
	if !ok {
		res.Note = "no packet of the connection after the block"
		return res
	}
	for _, v := range []endpointView{
		view(cs, in.Client, in.BlockNs, t0, in.ClientEnd.EndNs),
		view(ss, in.Server, in.BlockNs, t0, in.ServerEnd.EndNs),
	} {
		res.RSTReceived += v.rstIn
		res.BytesThrough += v.bytesAfter
		res.ChallengeACKs += v.challenges
		if v.exactFirst {
			res.ExactFirst++
		}
	}
	for _, s := range in.conn(in.SensorSegs) {
		if s.rst && s.ns >= in.BlockNs {
			res.RSTSent++
		}
	}
	res.BothReset = in.ClientEnd.End == "reset" && in.ServerEnd.End == "reset"
	if !res.BothReset {
		res.Note = fmt.Sprintf("client ended %q, server ended %q", in.ClientEnd.End,
			in.ServerEnd.End)
		return res
	}
	res.ResetMs = float64(max(in.ClientEnd.EndNs, in.ServerEnd.EndNs)-t0) / 1e6
	return res
}

// trigger is the first packet after the blocker said it was in place: the
// reset time measures the data path, the ready time the control path. A
// blocker that acted before it said so is timed from the block command.
func (in runInput) trigger(cs, ss []segment) (int64, bool) {
	lastEnd := max(in.ClientEnd.EndNs, in.ServerEnd.EndNs)
	if t0, ok := firstAfter(max(in.BlockNs, in.ReadyNs), cs, ss); ok && t0 < lastEnd {
		return t0, true
	}
	return firstAfter(in.BlockNs, cs, ss)
}

// conn keeps the segments to or from the server's port, in time order.
func (in runInput) conn(segs []segment) []segment {
	var out []segment
	for _, s := range segs {
		if s.src.Port() == in.Port || s.dst.Port() == in.Port {
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ns < out[j].ns })
	return out
}

func firstAfter(ns int64, lists ...[]segment) (int64, bool) {
	best, found := int64(0), false
	for _, l := range lists {
		for _, s := range l {
			if s.ns > ns && !s.rst {
				if !found || s.ns < best {
					best, found = s.ns, true
				}
				break
			}
		}
	}
	return best, found
}

// view walks one endpoint's capture: it tracks the endpoint's next expected
// sequence number from what arrives, judges each RST against it, and
// counts the challenge ACKs inexact RSTs draw.
func view(segs []segment, self netip.Addr, blockNs, t0, endNs int64) endpointView {
	var v endpointView
	var rcvNxt uint32
	var challengeUntil int64
	var challengeAck uint32
	for _, s := range segs {
		in := s.dst.Addr() == self
		switch {
		case in && s.rst && s.ns >= blockNs:
			exact := s.seq == rcvNxt
			if v.rstIn == 0 {
				v.exactFirst = exact
			}
			v.rstIn++
			if !exact {
				challengeUntil, challengeAck = s.ns+challengeWindow, rcvNxt
			}
		case in && !s.rst:
			challengeUntil = 0 // an ACK after this answers the data, not the RST
			rcvNxt = advance(rcvNxt, s)
			if s.ns > t0 && (endNs == 0 || s.ns <= endNs) {
				v.bytesAfter += int64(s.payload)
			}
		case !in && s.pureACK() && s.ns <= challengeUntil && s.ack == challengeAck:
			v.challenges++
			challengeUntil = 0
		}
	}
	return v
}

// advance moves the receive point past an arriving segment, in sequence
// space (wrapping) order.
func advance(rcvNxt uint32, s segment) uint32 {
	if s.syn {
		return s.seq + s.seqLen()
	}
	end := s.seq + s.seqLen()
	if rcvNxt == 0 || int32(end-rcvNxt) > 0 {
		return end
	}
	return rcvNxt
}
