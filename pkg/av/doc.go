// Package av is the network antivirus of softips: it loads ClamAV-format
// hash and body signatures (.hdb, .hsb, .ndb, .db and their .hdu, .hsu, .ndu
// twins) and scans reassembled TCP payload with them, one Stream per flow
// direction. Each direction is scanned as a whole ("stream" object), and the
// HTTP/1.x message bodies found in it are extracted, de-chunked and
// decompressed (gzip, deflate) and scanned again ("http-body" objects).
//
// Hashes (MD5, SHA-1, SHA-256) are computed incrementally and looked up with
// the object size at its end; a stream found to be HTTP is not hashed as a
// whole, only its bodies are. Body signatures are found with one
// Aho-Corasick automaton over the longest fixed byte run of every part of
// every signature, and then verified around that anchor, so the cost per
// byte does not grow with the number of signatures. Per-stream memory is
// bounded: only a tail window as long as the longest signature part is
// kept, pending verifications are capped, and objects past the size limits
// are no longer scanned or hashed (counted in Stats).
//
// Target types in .ndb lines (1 PE, 2 OLE2, 3 HTML, 7 ASCII text, ...) are
// accepted and treated as 0 (any): softips sees no file type and does no
// normalisation, so type 3 and 7 signatures written for ClamAV's normalised
// text may miss. Offsets relative to PE structure (EP, Sx, SE, SL) are
// skipped. Packed ClamAV databases (.cvd, .cld) must be unpacked first with
// `sigtool --unpack FILE` into a directory given to LoadDir.
//
// A pipeline keeps one Stream per flow direction, writes the reassembled
// bytes in order as they come, and calls Close when the direction ends;
// LinkHTTP(requests, responses) lets responses to HEAD and CONNECT be
// framed right. Hits come back through StreamOptions.OnHit as they are
// found and from Hits; WriteEVE renders one as an EVE line and BlockSpec
// turns the flow into a block signal under a policy.
//
// The package must never do network I/O or log, never buffer a whole object,
// and never panic on signature or traffic input.
package av
