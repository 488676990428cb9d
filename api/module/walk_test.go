package module

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestWalkCode(t *testing.T) {
	// A module with two types, one table and one function, for block
	// types and table instructions to refer to.
	info := &Info{Types: 2, Tables: []Table{{Min: 1}}}
	type instr struct {
		op         byte
		start, end int
	}
	tests := []struct {
		name string
		expr []byte
		want []instr
		err  string
	}{
		{name: "empty", expr: []byte{0x0b}, want: []instr{{0x0b, 0, 1}}},
		{
			name: "calls in nested blocks",
			expr: []byte{
				0x02, 0x40, // block
				0x03, 0x01, // loop (type 1)
				0x10, 0x80, 0x01, // call 128
				0x0b,       // end
				0x41, 0x00, // i32.const 0
				0x11, 0x01, 0x00, // call_indirect (type 1) (table 0)
				0x0b,       // end
				0x12, 0x05, // return_call 5
				0x0b,
			},
			want: []instr{
				{0x02, 0, 2}, {0x03, 2, 4}, {0x10, 4, 7}, {0x0b, 7, 8}, {0x41, 8, 10},
				{0x11, 10, 13}, {0x0b, 13, 14}, {0x12, 14, 16}, {0x0b, 16, 17},
			},
		},
		{
			name: "prefixed instructions and br_table",
			expr: []byte{0x41, 0x00, 0x0e, 0x02, 0x00, 0x00, 0x00, 0xfc, 0x10, 0x00, 0x1a, 0x0b},
			want: []instr{{0x41, 0, 2}, {0x0e, 2, 7}, {0xfc, 7, 10}, {0x1a, 10, 11}, {0x0b, 11, 12}},
		},
		{name: "no end", expr: []byte{0x01}, want: []instr{{0x01, 0, 1}}, err: "no end"},
		{name: "bytes after the end", expr: []byte{0x0b, 0x01}, want: []instr{{0x0b, 0, 1}}, err: "after the end"},
		{name: "a block type that does not exist", expr: []byte{0x02, 0x02, 0x0b, 0x0b}, err: "block type 2"},
		{name: "an unknown opcode", expr: []byte{0x06, 0x0b}, err: "opcode 0x06"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []instr
			err := WalkCode(tt.expr, info, func(op byte, start, end int) {
				got = append(got, instr{op, start, end})
			})
			if !slices.Equal(got, tt.want) {
				t.Errorf("instructions %v, want %v", got, tt.want)
			}
			var fe *FormatError
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.err != "" && (!errors.As(err, &fe) || !strings.Contains(fe.Msg, tt.err)):
				t.Errorf("error %v, want a FormatError saying %q", err, tt.err)
			}
		})
	}
}
