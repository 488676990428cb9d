package simagent

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/mezzo-cluster/mezzo/api"
)

// recordReader reads the RecordIO framing of an event stream as
// api.RecordReader does, through a smaller buffer: a fleet holds tens of
// thousands of them, and agent events are short.
type recordReader struct {
	r      *bufio.Reader
	digits []byte
}

func newRecordReader(r io.Reader) *recordReader {
	return &recordReader{r: bufio.NewReaderSize(r, 512)}
}

// next returns the next record, in a fresh slice.
func (rr *recordReader) next() ([]byte, error) {
	rr.digits = rr.digits[:0]
	for {
		c, err := rr.r.ReadByte()
		if err != nil {
			return nil, err
		}
		if c == '\n' {
			break
		}
		if c < '0' || c > '9' || len(rr.digits) >= 20 {
			return nil, fmt.Errorf("recordio: invalid length byte %q", c)
		}
		rr.digits = append(rr.digits, c)
	}
	n, err := strconv.Atoi(string(rr.digits))
	switch {
	case err != nil:
		return nil, fmt.Errorf("recordio: length %q: %w", rr.digits, err)
	case n <= 0 || n > api.MaxRecordSize:
		return nil, errors.New("recordio: record length out of range: " + string(rr.digits))
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(rr.r, buf); err != nil {
		return nil, fmt.Errorf("recordio: read %d-byte record: %w", n, err)
	}
	return buf, nil
}
