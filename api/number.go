package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Float64 is a protobuf double in Mesos's JSON mapping. It exists because
// Mesos accepts a double as any JSON number or as a string ("3.6e+06",
// "Infinity"), which float64 alone does not. It prints integral values with a
// trailing ".0" as Mesos does; non-finite values print as the strings
// "Infinity", "-Infinity" and "NaN" (Mesos prints bare tokens, which are not
// JSON and which encoding/json refuses to emit; Mesos parses the strings).
type Float64 float64

// MarshalJSON implements json.Marshaler.
func (f Float64) MarshalJSON() ([]byte, error) {
	return f.AppendJSON(make([]byte, 0, 24)), nil
}

// AppendJSON appends what MarshalJSON returns to b. It formats the number
// with strconv as encoding/json formats a float64 (ES6's number to
// string), rather than through json.Marshal: every status update carries
// a timestamp, and the nested json.Marshal was most of its encoding.
func (f Float64) AppendJSON(b []byte) []byte {
	v := float64(f)
	switch {
	case math.IsInf(v, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(v, -1):
		return append(b, `"-Infinity"`...)
	case math.IsNaN(v):
		return append(b, `"NaN"`...)
	}
	format := byte('f')
	if abs := math.Abs(v); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(b)
	b = strconv.AppendFloat(b, v, format, -1, 64)
	if format == 'e' { // e-09 to e-9, as encoding/json
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	if bytes.ContainsAny(b[start:], ".eE") {
		return b
	}
	return append(b, '.', '0')
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float64) UnmarshalJSON(b []byte) error {
	s, ok, err := numberText(b)
	if err != nil || !ok {
		return err
	}
	switch s {
	case "Infinity", "+Infinity", "inf", "+inf":
		*f = Float64(math.Inf(1))
		return nil
	case "-Infinity", "-inf":
		*f = Float64(math.Inf(-1))
		return nil
	case "NaN", "nan":
		*f = Float64(math.NaN())
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("invalid double %s", b)
	}
	*f = Float64(v)
	return nil
}

// Int64 is a protobuf int64 (or int32) in Mesos's JSON mapping: printed as a
// JSON number, parsed from any JSON number that holds an integer ("3.6e+06")
// or from a numeric string.
type Int64 int64

// UnmarshalJSON implements json.Unmarshaler.
func (i *Int64) UnmarshalJSON(b []byte) error {
	s, ok, err := numberText(b)
	if err != nil || !ok {
		return err
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		*i = Int64(v)
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v != math.Trunc(v) || v < math.MinInt64 || v >= math.MaxInt64 {
		return fmt.Errorf("invalid integer %s", b)
	}
	*i = Int64(v)
	return nil
}

// Uint64 is a protobuf uint64 (or uint32) in Mesos's JSON mapping, with the
// same leniency as Int64. Range bounds are Uint64.
type Uint64 uint64

// UnmarshalJSON implements json.Unmarshaler.
func (u *Uint64) UnmarshalJSON(b []byte) error {
	s, ok, err := numberText(b)
	if err != nil || !ok {
		return err
	}
	if v, err := strconv.ParseUint(s, 10, 64); err == nil {
		*u = Uint64(v)
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v != math.Trunc(v) || v < 0 || v >= math.MaxUint64 {
		return fmt.Errorf("invalid unsigned integer %s", b)
	}
	*u = Uint64(v)
	return nil
}

// numberText returns the text of a JSON number or of a JSON string holding
// one. ok is false for null, which leaves the target unset.
func numberText(b []byte) (s string, ok bool, err error) {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return "", false, nil
	}
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return "", false, fmt.Errorf("invalid number %s", b)
		}
		return s, true, nil
	}
	if len(b) == 0 || !(b[0] == '-' || (b[0] >= '0' && b[0] <= '9')) {
		return "", false, fmt.Errorf("invalid number %s", b)
	}
	return string(b), true, nil
}

// Ptr returns a pointer to v. It exists for the many optional fields of the
// wire types: api.Ptr(false) for CommandInfo.Shell, and so on.
func Ptr[T any](v T) *T { return &v }
