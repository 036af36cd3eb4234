package av

// Default limits of a Stream; see StreamOptions.
const (
	DefaultMaxScanBytes    = 64 << 20
	DefaultMaxHashBytes    = 64 << 20
	DefaultMaxDecodedBytes = 16 << 20
	maxKeptHits            = 1024
)

// Hit is one signature found in one object.
type Hit struct {
	Signature string // signature name from the database
	Kind      string // "hash" or "body"
	Object    string // "stream" (the whole direction) or "http-body"
	// Hash is the hex SHA-256 of the object when it was hashed: set on hash
	// hits, and filled in on the kept body hits (Hits) when their object
	// ends; OnHit sees body hits before that, without it.
	Hash        string
	Offset      int64 // body hits: where the match starts, in the object
	ObjectStart int64 // where the object starts in the direction's stream
	Size        int64 // hash hits: the object's size
}

// StreamOptions tunes one Stream. Zero values pick the defaults; a negative
// limit means no limit.
type StreamOptions struct {
	// OnHit, when set, is called for every hit as soon as it is found. It
	// may run on a decoder goroutine of the Stream, but never concurrently
	// with the caller's Write or Close, and must not call the Stream.
	OnHit func(Hit)
	// MaxScanBytes is how many bytes of each object body signatures look
	// at; past it the object is only hashed (counted in ScanTruncated).
	MaxScanBytes int64
	// MaxHashBytes is the largest object that is hashed (HashSkipped).
	MaxHashBytes int64
	// MaxDecodedBytes bounds one HTTP body after decompression
	// (DecodeTruncated); it defends against decompression bombs.
	MaxDecodedBytes int64
	// NoHTTP turns off HTTP body extraction: only the stream is scanned.
	NoHTTP bool
	// HashObjects computes the SHA-256 of every object for Hit.Hash even
	// when the database holds no hash signatures.
	HashObjects bool
}

// Stats counts what a Stream did and what it had to leave out.
type Stats struct {
	Bytes           int64 // stream bytes written
	Objects         int64 // objects finished (the stream and each HTTP body)
	Hits            int64
	HitsDropped     int64 // hits not kept for Hits() (OnHit still saw them)
	ScanTruncated   int64 // objects scanned only up to MaxScanBytes
	HashSkipped     int64 // objects larger than MaxHashBytes, not hashed
	PendingDropped  int64 // anchor hits not verified: too many waiting
	VerifyAborted   int64 // verifications given up: too many ways to try
	DecodeErrors    int64 // HTTP bodies whose decompression failed
	DecodeTruncated int64 // HTTP bodies cut at MaxDecodedBytes
	HTTPErrors      int64 // HTTP framing given up on (the stream is still scanned)
}

// Stream scans one direction of one TCP flow. It is not safe for
// concurrent use; Close must be called to finish hashes and HTTP bodies
// and to release a decoder goroutine.
type Stream struct {
	db     *DB
	opts   StreamOptions
	raw    *object
	http   *httpParser
	hits   []Hit
	stats  Stats
	closed bool
}

// NewStream starts scanning one flow direction.
func (db *DB) NewStream(opts StreamOptions) *Stream {
	opts.MaxScanBytes = limitOr(opts.MaxScanBytes, DefaultMaxScanBytes)
	opts.MaxHashBytes = limitOr(opts.MaxHashBytes, DefaultMaxHashBytes)
	opts.MaxDecodedBytes = limitOr(opts.MaxDecodedBytes, DefaultMaxDecodedBytes)
	s := &Stream{db: db, opts: opts}
	s.raw = newObject(s, "stream", 0)
	if !opts.NoHTTP {
		s.http = newHTTPParser(s)
	}
	return s
}

func limitOr(v, def int64) int64 {
	if v == 0 {
		return def
	}
	return v
}

// Write feeds the next in-order reassembled bytes of the direction and
// reports what they complete.
func (s *Stream) Write(p []byte) {
	if s.closed || len(p) == 0 {
		return
	}
	s.raw.write(p)
	if s.http != nil {
		s.http.write(p)
	}
	s.stats.Bytes += int64(len(p))
}

// Close ends the direction: it finishes the hashes, an HTTP body delimited
// by the connection's end, and verifications waiting for bytes. Calling it
// again does nothing.
func (s *Stream) Close() {
	if s.closed {
		return
	}
	s.closed = true
	if s.http != nil {
		s.http.close()
	}
	s.raw.close()
}

// LinkHTTP tells the response side of a flow the method of each request
// seen on the request side, so that a response to HEAD is known to have no
// body and a CONNECT tunnel is left alone. Without it a HEAD response that
// announces a length makes the parser take the next response as its body
// (the stream itself is still scanned). Write requests before the
// responses they cause, as the capture order gives them.
func LinkHTTP(requests, responses *Stream) {
	if requests.http != nil && responses.http != nil {
		requests.http.peer = responses.http
	}
}

// Hits returns the hits found so far (at most 1,024 are kept).
func (s *Stream) Hits() []Hit { return s.hits }

// Stats returns the counters of the stream.
func (s *Stream) Stats() Stats { return s.stats }

func (s *Stream) emit(h Hit) {
	s.stats.Hits++
	if len(s.hits) < maxKeptHits {
		s.hits = append(s.hits, h)
	} else {
		s.stats.HitsDropped++
	}
	if s.opts.OnHit != nil {
		s.opts.OnHit(h)
	}
}
