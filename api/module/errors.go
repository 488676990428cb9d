package module

import "fmt"

// FormatError is returned by Validate for a binary that is malformed,
// truncated, or uses a feature Validate does not accept (a 64-bit memory,
// exception handling). Offset says where in the binary the problem was
// found.
type FormatError struct {
	// Offset is the position, in bytes from the start of the binary, at
	// which decoding stopped.
	Offset int
	// Msg says what is wrong, in lower case, such as "invalid magic
	// number".
	Msg string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("module: at byte %d: %s", e.Offset, e.Msg)
}

// LimitError is returned by Validate for a module that exceeds one of
// its Limits. Validate stops at the first limit exceeded, so the rest of
// the module may not have been decoded.
type LimitError struct {
	// Limit is the name of the Limits field exceeded, such as
	// "MaxFunctions".
	Limit string
	// Max is the value of that field that Validate applied.
	Max uint64

	msg string // what exceeds it, such as "200000 functions"
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("module: %s exceeds the limit %s = %d", e.msg, e.Limit, e.Max)
}

// over returns a LimitError when got > max, and nil otherwise.
func over(limit string, got, max uint64, format string, args ...any) error {
	if got <= max {
		return nil
	}
	return &LimitError{Limit: limit, Max: max, msg: fmt.Sprintf(format, args...)}
}
