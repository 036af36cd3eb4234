package inject

import (
	"testing"

	"github.com/softips/softips/internal/testenv"
)

// BenchmarkSenderSendPair sends the F7 pair through the TX ring of a veth
// in the test's namespaces: the cost of one answer, next hop cached.
func BenchmarkSenderSendPair(b *testing.B) {
	testenv.RequireRoot(b)
	l := newLab(b)
	var s *Sender
	var err error
	l.in(b, l.sensor, func() { s, err = NewSender("inj0", SenderOptions{}) })
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	tr := triggerOf(b, fixPayload.serialize(b))
	frames, _ := BuildResets(tr, BuildOptions{}, nil)
	if err := s.Send(frames...); err != nil { // resolves the next hops
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Send(frames...); err != nil {
			b.Fatal(err)
		}
	}
}
