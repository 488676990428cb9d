package api

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// MaxRecordSize bounds one RecordIO record read by NewRecordReader. A
// peer that announces a larger record is broken or hostile; the reader
// fails rather than allocate. A stream whose records may legitimately be
// larger, such as the operator stream's SUBSCRIBED snapshot of a large
// cluster, is read with NewRecordReaderLimit.
const MaxRecordSize = 16 << 20

// ErrRecordTooLarge is returned by RecordReader for records over its limit.
var ErrRecordTooLarge = errors.New("recordio: record too large")

// RecordReader reads RecordIO framing, "<decimal length>\n<bytes>", the
// framing of every Mesos event stream. Chunk boundaries do not matter.
// A RecordReader is not safe for concurrent use.
type RecordReader struct {
	r   *bufio.Reader
	max int
}

// NewRecordReader returns a reader of r's records, each at most
// MaxRecordSize bytes.
func NewRecordReader(r io.Reader) *RecordReader {
	return NewRecordReaderLimit(r, MaxRecordSize)
}

// NewRecordReaderLimit returns a reader of r's records, each at most max
// bytes; max <= 0 means MaxRecordSize. A large max costs memory only for
// records that are that large: a record's buffer grows with the bytes
// that arrive, to at most about twice them, never to the length the peer
// announced, so a peer must send the bytes to make the reader hold them.
func NewRecordReaderLimit(r io.Reader, max int) *RecordReader {
	if max <= 0 {
		max = MaxRecordSize
	}
	return &RecordReader{r: bufio.NewReader(r), max: max}
}

// ReadRecord returns the next record. It returns io.EOF at a clean end of
// stream between records and io.ErrUnexpectedEOF for a stream cut inside one.
func (rr *RecordReader) ReadRecord() ([]byte, error) {
	n, err := rr.readLength()
	if err != nil {
		return nil, err
	}
	// Grow with the bytes that arrive rather than trusting the announced
	// length, so a peer cannot make the reader allocate its limit by
	// sending a dozen bytes: the first 64 KiB at once, then doubling. A record
	// of at most 64 KiB, every event in practice, is one allocation of
	// its size (bytes.Buffer's ReadFrom made three, the last of twice
	// the record).
	buf := make([]byte, 0, min(n, 64<<10))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(n-len(buf), cap(buf)))
		}
		m, err := io.ReadFull(rr.r, buf[len(buf):min(n, cap(buf))])
		buf = buf[:len(buf)+m]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("recordio: read %d-byte record: %w", n, err)
		}
	}
	return buf, nil
}

func (rr *RecordReader) readLength() (int, error) {
	var length [20]byte // the digits, for the error; more is too large anyway
	digits, n := 0, 0   // n never exceeds rr.max, so it cannot overflow
	tooLarge := false
	for {
		c, err := rr.r.ReadByte()
		if err != nil {
			if err == io.EOF && digits > 0 {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		if c == '\n' {
			break
		}
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("recordio: invalid length byte %q", c)
		}
		if digits >= len(length) {
			return 0, ErrRecordTooLarge
		}
		length[digits] = c
		digits++
		// 10*n+d > rr.max, asked without computing 10*n+d, which may
		// overflow when rr.max is near math.MaxInt.
		if d := int(c - '0'); tooLarge || n > (rr.max-d)/10 || 10*n+d > rr.max {
			tooLarge = true
		} else {
			n = 10*n + d
		}
	}
	if digits == 0 {
		return 0, errors.New("recordio: empty length")
	}
	if tooLarge {
		return 0, fmt.Errorf("%w: %s bytes", ErrRecordTooLarge, string(length[:digits]))
	}
	if n == 0 {
		return 0, errors.New("recordio: zero-length record")
	}
	return n, nil
}

// AppendRecord appends record to dst in RecordIO framing and returns the
// extended buffer, so that a writer can send one record in one write.
func AppendRecord(dst, record []byte) []byte {
	dst = strconv.AppendInt(dst, int64(len(record)), 10)
	dst = append(dst, '\n')
	return append(dst, record...)
}
