package api

import (
	"bytes"
	"errors"
	"io"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

func TestRecordReader(t *testing.T) {
	tests := []struct {
		name    string
		stream  string
		max     int // NewRecordReaderLimit's; 0 for NewRecordReader
		want    []string
		wantErr error  // the error after the records, matched with errors.Is
		errText string // or, if wantErr is nil, a substring of it
	}{
		{
			name:    "empty stream",
			stream:  "",
			wantErr: io.EOF,
		},
		{
			name:    "several records",
			stream:  "20\n{\"type\":\"HEARTBEAT\"}3\nabc1\nx",
			want:    []string{`{"type":"HEARTBEAT"}`, "abc", "x"},
			wantErr: io.EOF,
		},
		{
			name:    "record holding newlines and digits",
			stream:  "5\n1\n2\n\n",
			want:    []string{"1\n2\n\n"},
			wantErr: io.EOF,
		},
		{
			name:    "cut inside a record",
			stream:  "3\nabc10\nabc",
			want:    []string{"abc"},
			wantErr: io.ErrUnexpectedEOF,
		},
		{
			name:    "a record past the first 64 KiB",
			stream:  "200000\n" + strings.Repeat("y", 200000) + "1\nz",
			want:    []string{strings.Repeat("y", 200000), "z"},
			wantErr: io.EOF,
		},
		{
			name:    "cut past the first 64 KiB",
			stream:  "200000\n" + strings.Repeat("y", 100000),
			wantErr: io.ErrUnexpectedEOF,
		},
		{
			name:    "cut inside a length",
			stream:  "3\nabc1",
			want:    []string{"abc"},
			wantErr: io.ErrUnexpectedEOF,
		},
		{
			name:    "non-digit length",
			stream:  "1x\na",
			errText: "invalid length byte",
		},
		{
			name:    "leading space",
			stream:  " 1\na",
			errText: "invalid length byte",
		},
		{
			name:    "empty length",
			stream:  "\nabc",
			errText: "empty length",
		},
		{
			name:    "zero length",
			stream:  "0\n",
			errText: "zero-length record",
		},
		{
			name:    "over the limit",
			stream:  strconv.Itoa(MaxRecordSize+1) + "\n",
			wantErr: ErrRecordTooLarge,
		},
		{
			name:    "absurd length",
			stream:  "99999999999999999999999999\n",
			wantErr: ErrRecordTooLarge,
		},
		{
			name:    "uint64 overflow",
			stream:  "18446744073709551616\n",
			wantErr: ErrRecordTooLarge,
		},
		{
			name:    "at a limit",
			stream:  "3\nabc",
			max:     3,
			want:    []string{"abc"},
			wantErr: io.EOF,
		},
		{
			name:    "over a limit",
			stream:  "3\nabc4\nabcd",
			max:     3,
			want:    []string{"abc"},
			wantErr: ErrRecordTooLarge,
		},
		{
			name:    "a limit below 10",
			stream:  "1\nx9\n",
			max:     1,
			want:    []string{"x"},
			wantErr: ErrRecordTooLarge,
		},
		{
			name:    "over MaxRecordSize within a larger limit",
			stream:  strconv.Itoa(MaxRecordSize+1) + "\n" + strings.Repeat("y", 1000),
			max:     1 << 30,
			wantErr: io.ErrUnexpectedEOF, // accepted, then cut
		},
		{
			name:    "a limit of MaxInt, a length just over it",
			stream:  "9223372036854775808\n",
			max:     math.MaxInt,
			wantErr: ErrRecordTooLarge,
		},
		{
			name:    "a limit of MaxInt, a length that overflows 10*n",
			stream:  "9300000000000000000\n",
			max:     math.MaxInt,
			wantErr: ErrRecordTooLarge,
		},
		{
			name:    "a limit of MaxInt, a length of 20 digits",
			stream:  "10000000000000000000\n",
			max:     math.MaxInt,
			wantErr: ErrRecordTooLarge,
		},
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			name := tt.name
			if oneByte {
				name += " one byte at a time"
			}
			t.Run(name, func(t *testing.T) {
				var r io.Reader = strings.NewReader(tt.stream)
				if oneByte {
					r = iotest.OneByteReader(r)
				}
				rr := NewRecordReader(r)
				if tt.max != 0 {
					rr = NewRecordReaderLimit(r, tt.max)
				}
				got, err := readAllRecords(rr)
				if !slices.Equal(got, tt.want) {
					t.Errorf("records = %q, want %q", got, tt.want)
				}
				switch {
				case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
					t.Errorf("error = %v, want %v", err, tt.wantErr)
				case tt.wantErr == nil && (err == nil || !strings.Contains(err.Error(), tt.errText)):
					t.Errorf("error = %v, want one mentioning %q", err, tt.errText)
				}
			})
		}
	}
}

// TestRecordReaderDoesNotAllocateOversizedRecords checks that a length
// over the limit fails before the record's buffer is allocated.
func TestRecordReaderDoesNotAllocateOversizedRecords(t *testing.T) {
	stream := strconv.Itoa(1<<40) + "\n"
	allocs := testing.AllocsPerRun(10, func() {
		rr := NewRecordReader(strings.NewReader(stream))
		if _, err := rr.ReadRecord(); !errors.Is(err, ErrRecordTooLarge) {
			t.Fatalf("error = %v, want ErrRecordTooLarge", err)
		}
	})
	// The bufio buffer and the error are small; a terabyte is not.
	if allocs > 20 {
		t.Errorf("%v allocations for a rejected record", allocs)
	}
}

// TestRecordReaderAllocations checks what reading costs: a record of up
// to 64 KiB is one allocation, and a record announced far larger than
// what arrives costs what arrived, not what was announced.
func TestRecordReaderAllocations(t *testing.T) {
	rr := NewRecordReader(strings.NewReader(strings.Repeat("1000\n"+strings.Repeat("x", 1000), 100)))
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := rr.ReadRecord(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 1 {
		t.Errorf("%v allocations per 1000-byte record, want 1", allocs)
	}

	stream := strconv.Itoa(MaxRecordSize) + "\n" + strings.Repeat("x", 100<<10)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := NewRecordReader(strings.NewReader(stream)).ReadRecord()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("error = %v, want io.ErrUnexpectedEOF", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("%d bytes allocated for 100 KiB of a record announced as %d bytes", n, MaxRecordSize)
	}
}

// TestRecordReaderLimitAllocations checks that a large limit costs
// nothing until the bytes arrive: a record announced as 1 GiB of which
// 100 KiB arrive costs about 100 KiB.
func TestRecordReaderLimitAllocations(t *testing.T) {
	stream := strconv.Itoa(1<<30) + "\n" + strings.Repeat("x", 100<<10)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := NewRecordReaderLimit(strings.NewReader(stream), 1<<30).ReadRecord()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("error = %v, want io.ErrUnexpectedEOF", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("%d bytes allocated for 100 KiB of a record announced as 1 GiB", n)
	}
}

// TestRecordReaderLargeRecord reads a record over MaxRecordSize with a
// limit above it, and checks that NewRecordReader still refuses it.
func TestRecordReaderLargeRecord(t *testing.T) {
	record := bytes.Repeat([]byte("0123456789abcdef"), (MaxRecordSize+1<<20)/16)
	stream := AppendRecord(nil, record)
	got, err := NewRecordReaderLimit(bytes.NewReader(stream), 1<<30).ReadRecord()
	if err != nil || !bytes.Equal(got, record) {
		t.Fatalf("ReadRecord of a %d-byte record: %d bytes, %v", len(record), len(got), err)
	}
	if _, err := NewRecordReader(bytes.NewReader(stream)).ReadRecord(); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("NewRecordReader: %v, want ErrRecordTooLarge", err)
	}
}

func TestAppendRecord(t *testing.T) {
	tests := []struct {
		name    string
		records []string
		want    string
	}{
		{"one", []string{`{"type":"HEARTBEAT"}`}, "20\n{\"type\":\"HEARTBEAT\"}"},
		{"several", []string{"a", "bc", "0123456789"}, "1\na2\nbc10\n0123456789"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf []byte
			for _, r := range tt.records {
				buf = AppendRecord(buf, []byte(r))
			}
			if string(buf) != tt.want {
				t.Fatalf("framed = %q, want %q", buf, tt.want)
			}
			got, err := readAllRecords(NewRecordReader(iotest.OneByteReader(bytes.NewReader(buf))))
			if !errors.Is(err, io.EOF) || !slices.Equal(got, tt.records) {
				t.Errorf("read back %q, %v", got, err)
			}
		})
	}
}

// readAllRecords reads records until the first error, which it returns.
func readAllRecords(rr *RecordReader) ([]string, error) {
	var out []string
	for {
		rec, err := rr.ReadRecord()
		if err != nil {
			return out, err
		}
		out = append(out, string(rec))
	}
}

// BenchmarkRecordReader reads 600-byte records, the size of a status
// update event, from a stream in memory.
func BenchmarkRecordReader(b *testing.B) {
	stream := strings.Repeat("600\n"+strings.Repeat("x", 600), 1000)
	b.ReportAllocs()
	for b.Loop() {
		rr := NewRecordReader(strings.NewReader(stream))
		for {
			if _, err := rr.ReadRecord(); err != nil {
				break
			}
		}
	}
}
