package detect

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"io"
)

// responseBody returns the response body for file_data, decompressed when
// the response declared gzip or deflate (partial data decodes as far as
// it goes).
func (tx *httpTx) responseBody() []byte {
	raw := tx.respBody[:tx.inspected[1]]
	if tx.encoding == 0 {
		return raw
	}
	if tx.decodedFrom == len(raw) {
		return tx.decoded
	}
	tx.decodedFrom = len(raw)
	tx.decoded = decompress(tx.decoded[:0], raw, tx.encoding)
	return tx.decoded
}

func decompress(dst, src []byte, enc byte) []byte {
	var r io.Reader
	var err error
	switch {
	case enc == 'g':
		r, err = gzip.NewReader(bytes.NewReader(src))
	case len(src) >= 2 && (uint16(src[0])<<8|uint16(src[1]))%31 == 0 && src[0]&0x0f == 8:
		r, err = zlib.NewReader(bytes.NewReader(src))
	default:
		r = flate.NewReader(bytes.NewReader(src))
	}
	if err != nil {
		return dst
	}
	buf := bytes.NewBuffer(dst)
	_, _ = io.Copy(buf, io.LimitReader(r, 4*bodyLimit))
	return buf.Bytes()
}
