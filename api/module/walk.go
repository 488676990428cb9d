package module

// WalkCode decodes expr, the instructions of one function body of a
// module that Validate accepted as info (the body after its local
// declarations, up to and including its final end), and calls fn with
// each instruction in order: its first byte, such as 0x10 for call or
// 0xfc for a prefixed instruction, and the offsets in expr at which it
// starts and ends. Rewriters of code use it, such as the sandbox's, so
// that the binary format is decoded in one place.
//
// It returns a *FormatError, having called fn for the instructions
// before it, when expr does not decode or has bytes after its end.
func WalkCode(expr []byte, info *Info, fn func(op byte, start, end int)) error {
	v := &validator{
		lim:   DefaultLimits(),
		info:  &Info{Tables: make([]Table, len(info.Tables))},
		types: make([][]byte, info.Types),
		visit: fn,
	}
	r := &reader{b: expr}
	v.expr(r)
	if r.err == nil && !r.done() {
		r.fail("%d bytes after the end of the code", r.left())
	}
	return r.err
}
