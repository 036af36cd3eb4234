package av

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
)

// maxLayers is how many content codings of one body are undone.
const maxLayers = 3

// decoder undoes the content codings of one HTTP body as its bytes arrive.
// The standard decompressors pull their input, so each runs on its own
// goroutine in strict turns with the caller: write hands over one slice and
// waits until the goroutine has used it all and asks for more, so the two
// never run at once and the output is scanned before write returns. Memory
// is the decompressor's window, not the body.
type decoder struct {
	in    chan []byte
	ack   chan struct{}
	done  chan struct{}
	out   *object
	limit int64
	err   error // decoding error, read after done
	cut   bool  // output reached limit
}

func newDecoder(codings []string, out *object, limit int64) *decoder {
	d := &decoder{in: make(chan []byte), ack: make(chan struct{}),
		done: make(chan struct{}), out: out, limit: limit}
	go d.run(codings)
	return d
}

func (d *decoder) write(p []byte) {
	if len(p) == 0 {
		return
	}
	d.in <- p
	<-d.ack
}

// close signals the end of the body and waits for the goroutine to finish.
func (d *decoder) close() {
	close(d.in)
	<-d.done
}

func (d *decoder) run(codings []string) {
	defer close(d.done)
	src := &turnReader{in: d.in, ack: d.ack}
	var r io.Reader = src
	for k := len(codings) - 1; k >= 0; k-- {
		r = openLayer(codings[k], r)
	}
	d.pump(r)
	io.Copy(io.Discard, src) // keep taking turns until the body ends
}

func (d *decoder) pump(r io.Reader) {
	buf := make([]byte, 16<<10)
	var total int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if d.limit >= 0 && total+int64(n) > d.limit {
				d.out.write(buf[:d.limit-total])
				d.cut = true
				return
			}
			total += int64(n)
			d.out.write(buf[:n])
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				d.err = err
			}
			return
		}
	}
}

// turnReader hands the goroutine the caller's slices, acknowledging each
// one only when it is used up and more is wanted.
type turnReader struct {
	in   chan []byte
	ack  chan struct{}
	cur  []byte
	owed bool
}

func (t *turnReader) Read(p []byte) (int, error) {
	if len(t.cur) == 0 {
		if t.owed {
			t.ack <- struct{}{}
			t.owed = false
		}
		c, ok := <-t.in
		if !ok {
			return 0, io.EOF
		}
		t.cur, t.owed = c, true
	}
	n := copy(p, t.cur)
	t.cur = t.cur[n:]
	return n, nil
}

// openLayer wraps r in the decoder for one coding. The first bytes decide
// as browsers do: gzip magic means gzip, a zlib header means zlib, and
// "deflate" without one is raw deflate; anything else passes unchanged.
func openLayer(coding string, r io.Reader) io.Reader {
	br := bufio.NewReader(r)
	h, _ := br.Peek(2)
	switch {
	case len(h) == 2 && h[0] == 0x1f && h[1] == 0x8b:
		if z, err := gzip.NewReader(br); err == nil {
			return z
		}
	case len(h) == 2 && h[0]&0x0f == 8 && (uint16(h[0])<<8|uint16(h[1]))%31 == 0:
		if z, err := zlib.NewReader(br); err == nil {
			return z
		}
	case coding == "deflate":
		return flate.NewReader(br)
	}
	return br
}
