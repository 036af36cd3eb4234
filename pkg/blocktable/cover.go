package blocktable

import (
	"github.com/softips/softips/pkg/flowspec"
)

// shape is what the kernel's tuple-space search keys on: the family, the
// prefix lengths and which ports are fixed. Tables hold few shapes, so a
// covering query costs one map lookup per shape and orientation.
type shape struct {
	is6              bool
	srcBits, dstBits int
	srcPort, dstPort bool
}

func shapeOf(s flowspec.Spec) shape {
	return shape{is6: s.Is6(), srcBits: s.Src.Bits(), dstBits: s.Dst.Bits(),
		srcPort: s.SrcPort != 0, dstPort: s.DstPort != 0}
}

// mask widens s to shape sh, or reports false when s is wider than sh in
// some field and so cannot be covered by an entry of that shape.
func (sh shape) mask(s flowspec.Spec) (flowspec.Spec, bool) {
	if sh.is6 != s.Is6() || s.Src.Bits() < sh.srcBits || s.Dst.Bits() < sh.dstBits ||
		(sh.srcPort && s.SrcPort == 0) || (sh.dstPort && s.DstPort == 0) {
		return flowspec.Spec{}, false
	}
	m := flowspec.Spec{SrcPort: s.SrcPort, DstPort: s.DstPort}
	m.Src, _ = s.Src.Addr().Prefix(sh.srcBits)
	m.Dst, _ = s.Dst.Addr().Prefix(sh.dstBits)
	if !sh.srcPort {
		m.SrcPort = 0
	}
	if !sh.dstPort {
		m.DstPort = 0
	}
	return m, true
}

// Covering returns an entry that covers s (blocks every packet s would),
// the entry holding s itself included.
func (t *Table) Covering(s flowspec.Spec) (Entry, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.covering(s, false)
}

// CoveringWider is Covering without the entry holding s itself: it says
// whether s is already blocked by something wider.
func (t *Table) CoveringWider(s flowspec.Spec) (Entry, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.covering(s, true)
}

func (t *Table) covering(s flowspec.Spec, wider bool) (Entry, bool) {
	self := Canonical(s)
	for sh := range t.shapes {
		for _, o := range [2]flowspec.Spec{s, s.Reverse()} {
			k, ok := sh.mask(o)
			if !ok || (wider && k == self) {
				continue
			}
			if it := t.bySpec[k]; it != nil {
				return it.Entry, true
			}
		}
	}
	return Entry{}, false
}
