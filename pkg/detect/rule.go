package detect

import (
	"errors"
	"fmt"
	"strings"
)

// Action is what a rule asks for when it matches.
type Action uint8

// Rule actions, in Suricata's default evaluation order (pass first).
const (
	ActionPass Action = iota
	ActionDrop
	ActionReject
	ActionAlert
)

var actionNames = [...]string{"pass", "drop", "reject", "alert"}

// String returns the action keyword as written in rules.
func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("action(%d)", a)
}

// Proto is the protocol field of a rule header.
type Proto uint8

// Rule protocols. ProtoTCP inspects the stream where one is given and the
// packet otherwise; ProtoTCPPkt only packets; ProtoTCPStream only streams;
// ProtoHTTP only flows recognised as HTTP.
const (
	ProtoIP Proto = iota
	ProtoTCP
	ProtoTCPPkt
	ProtoTCPStream
	ProtoHTTP
)

var protoNames = [...]string{"ip", "tcp", "tcp-pkt", "tcp-stream", "http"}

// String returns the protocol keyword as written in rules.
func (p Proto) String() string {
	if int(p) < len(protoNames) {
		return protoNames[p]
	}
	return fmt.Sprintf("proto(%d)", p)
}

// Sentinel errors wrapped by every RuleError, for callers that test the kind.
var (
	// ErrSyntax marks a rule that is malformed.
	ErrSyntax = errors.New("syntax error")
	// ErrUnsupported marks a well-formed rule using something this package
	// does not implement.
	ErrUnsupported = errors.New("unsupported")
)

// RuleError says why one rule was rejected: where it is, which sid and
// keyword, and why. It wraps ErrSyntax or ErrUnsupported.
type RuleError struct {
	File    string
	Line    int
	SID     uint32
	Keyword string
	Reason  string
	Err     error
}

// Skipped is a rule left out of a RuleSet, with the reason.
type Skipped = RuleError

// Error formats the error as "file:line: sid N: reason".
func (e *RuleError) Error() string {
	var b strings.Builder
	if e.File != "" {
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	}
	if e.SID != 0 {
		fmt.Fprintf(&b, "sid %d: ", e.SID)
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap returns the sentinel (ErrSyntax or ErrUnsupported).
func (e *RuleError) Unwrap() error { return e.Err }

func syntaxErr(kw, format string, a ...any) *RuleError {
	return &RuleError{Keyword: kw, Reason: fmt.Sprintf(format, a...), Err: ErrSyntax}
}

func unsupported(kw, format string, a ...any) *RuleError {
	return &RuleError{Keyword: kw, Reason: fmt.Sprintf(format, a...), Err: ErrUnsupported}
}

// option is one "name:value" pair as written, kept for String().
type option struct {
	name, value string
	hasValue    bool
}

// Rule is one parsed signature. Exported fields describe it; the compiled
// match program is private.
type Rule struct {
	Action    Action
	Proto     Proto
	SID       uint32
	GID       uint32 // 1 unless the rule says otherwise
	Rev       uint32
	Msg       string
	Classtype string
	Priority  int    // 1 (highest) to 255; 3 when not given
	File      string // where the rule was loaded from, if from a file
	Line      int    // first line of the rule in File

	header string
	opts   []option

	src, dst         addrExpr
	srcPort, dstPort portExpr
	bidir            bool

	flow      flowOpts
	dsize     *rangeCond
	flags     *flagsCond
	chains    []*chain // one per buffer, raw first when present
	bufMask   uint32
	bits      []flowbitOp
	bitsClass int
	noalert   bool
	appProto  int // app-layer-protocol: 1 http, -1 not http, 0 any
	threshold *limiter
	filter    *limiter
	suppress  []*suppression
	fp        fastPattern
	mode      rawMode
	idx       int
}

// IsBlock reports whether the rule's action ends the flow (drop or reject).
func (r *Rule) IsBlock() bool { return r.Action == ActionDrop || r.Action == ActionReject }

// String renders the rule in canonical text form; parsing it again gives
// an equivalent rule.
func (r *Rule) String() string {
	var b strings.Builder
	b.WriteString(r.header)
	b.WriteString(" (")
	for i, o := range r.opts {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(o.name)
		if o.hasValue {
			b.WriteByte(':')
			b.WriteString(o.value)
		}
		b.WriteByte(';')
	}
	b.WriteString(")")
	return b.String()
}
