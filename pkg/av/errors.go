package av

import (
	"errors"
	"fmt"
)

// ErrUnsupported marks a signature construct, offset, file type or
// database form that this package recognises but does not implement.
var ErrUnsupported = errors.New("unsupported")

// ErrMalformed marks a signature line that is not valid in its format.
var ErrMalformed = errors.New("malformed")

// ErrPacked is returned for a packed ClamAV database (.cvd, .cld), which
// must be unpacked with "sigtool --unpack" before loading.
var ErrPacked = errors.New("packed database: unpack it with sigtool --unpack first")

// ErrUnknownPolicy is returned by BlockSpec for a policy name it does not know.
var ErrUnknownPolicy = errors.New("unknown block policy")

// Skipped is one signature line (or, with Line 0, one file) that was not
// loaded, and why. It is an error: Err wraps ErrUnsupported or ErrMalformed.
type Skipped struct {
	File string // path as given to the loader
	Line int    // 1-based line number; 0 for a whole file
	Err  error
}

// Error formats the skip as "file:line: reason".
func (s Skipped) Error() string {
	return fmt.Sprintf("%s:%d: %v", s.File, s.Line, s.Err)
}

// Unwrap returns the reason, so errors.Is(s, ErrUnsupported) works.
func (s Skipped) Unwrap() error { return s.Err }

func unsupported(format string, a ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, a...), ErrUnsupported)
}

func malformed(format string, a ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, a...), ErrMalformed)
}
