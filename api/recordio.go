package api

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// MaxRecordSize bounds one RecordIO record. A peer that announces a larger
// record is broken or hostile; the reader fails rather than allocate.
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
	return &RecordReader{r: bufio.NewReader(r), max: MaxRecordSize}
}

// ReadRecord returns the next record. It returns io.EOF at a clean end of
// stream between records and io.ErrUnexpectedEOF for a stream cut inside one.
func (rr *RecordReader) ReadRecord() ([]byte, error) {
	n, err := rr.readLength()
	if err != nil {
		return nil, err
	}
	// Grow with the bytes that arrive rather than trusting the announced
	// length, so a peer cannot make the reader allocate 16 MiB by sending
	// a dozen bytes.
	var buf bytes.Buffer
	buf.Grow(min(n, 64<<10))
	if _, err := io.CopyN(&buf, rr.r, int64(n)); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("recordio: read %d-byte record: %w", n, err)
	}
	return buf.Bytes(), nil
}

func (rr *RecordReader) readLength() (int, error) {
	var digits []byte
	for {
		c, err := rr.r.ReadByte()
		if err != nil {
			if err == io.EOF && len(digits) > 0 {
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
		if len(digits) >= 20 {
			return 0, ErrRecordTooLarge
		}
		digits = append(digits, c)
	}
	if len(digits) == 0 {
		return 0, errors.New("recordio: empty length")
	}
	n, err := strconv.ParseUint(string(digits), 10, 64)
	if err != nil || n > uint64(rr.max) {
		return 0, fmt.Errorf("%w: %s bytes", ErrRecordTooLarge, digits)
	}
	if n == 0 {
		return 0, errors.New("recordio: zero-length record")
	}
	return int(n), nil
}

// AppendRecord appends record to dst in RecordIO framing and returns the
// extended buffer, so that a writer can send one record in one write.
func AppendRecord(dst, record []byte) []byte {
	dst = strconv.AppendInt(dst, int64(len(record)), 10)
	dst = append(dst, '\n')
	return append(dst, record...)
}
