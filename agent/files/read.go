package files

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strconv"
)

// ReadResult is the answer of /files/read, in Mesos's JSON shape.
type ReadResult struct {
	// Offset is where Data starts in the file; when the request asked for
	// the size (offset -1) or for a window past the end, it is the size.
	Offset int64 `json:"offset"`
	// Data is the bytes read, as a string. Bytes that are not valid UTF-8
	// come back as U+FFFD, as encoding/json writes them, so a window cut
	// inside a multi-byte character shows one at its edge; use download
	// for binary files.
	Data string `json:"data"`
	// Length is how many bytes of the file Data holds: len(Data) differs
	// when bytes were not valid UTF-8 (each became a three-byte U+FFFD),
	// so a reader that moves on to Offset+len(Data) would skip bytes. Not
	// in Mesos's answer, whose readers ignore it; absent when 0.
	Length int64 `json:"length,omitempty"`
}

// read answers with a window of a regular file. offset -1 (the default)
// asks only for the size; length -1 (the default) reads to the end of the
// file; no answer holds more than the handler's read limit.
func (h *Handler) read(w http.ResponseWriter, _ *http.Request, q url.Values) {
	offset, msg := intParam(q, "offset")
	length, lmsg := intParam(q, "length")
	if msg == "" {
		msg = lmsg
	}
	if msg != "" {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	virtual := q.Get("path")
	f, st, ok := h.openRegular(w, virtual, "read")
	if !ok {
		return
	}
	defer f.Close()
	if offset == -1 || offset >= st.size {
		writeJSON(w, q, ReadResult{Offset: st.size})
		return
	}
	if length == -1 {
		length = st.size - offset
	}
	length = min(length, int64(h.readLimit))
	buf := make([]byte, length)
	n, err := f.ReadAt(buf, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		internalError(w, "read", virtual, err)
		return
	}
	writeJSON(w, q, ReadResult{Offset: offset, Data: string(buf[:n]), Length: int64(n)})
}

// intParam parses the optional integer parameter name, which defaults to
// -1 and may not be below it. It returns an error message for a bad value.
func intParam(q url.Values, name string) (int64, string) {
	s, ok := q[name]
	if !ok {
		return -1, ""
	}
	n, err := strconv.ParseInt(s[0], 10, 64)
	if err != nil {
		return 0, fmt.Sprintf("Failed to parse %s: %q is not an integer.", name, s[0])
	}
	if n < -1 {
		return 0, fmt.Sprintf("Negative %s provided: %d.", name, n)
	}
	return n, ""
}

// notRegular returns the error message for a file that op cannot serve, or
// "" for a regular file.
func notRegular(virtual string, st fileStat, op string) string {
	switch {
	case st.mode.IsDir():
		return fmt.Sprintf("Cannot %s a directory: path %s is one.", op, quote(virtual))
	case !st.mode.IsRegular():
		return fmt.Sprintf("Cannot %s path %s: it is not a regular file.", op, quote(virtual))
	}
	return ""
}

// internalError answers 500 for an I/O failure after a successful open,
// naming the virtual path and the cause but not the real path.
func internalError(w http.ResponseWriter, op, virtual string, err error) {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	http.Error(w, fmt.Sprintf("Could not %s path %s: %v.", op, quote(virtual), err), http.StatusInternalServerError)
}

// openStat opens a virtual path and stats it. On failure it has answered
// the request itself and ok is false.
func (h *Handler) openStat(w http.ResponseWriter, virtual string) (f *os.File, st fileStat, ok bool) {
	f, err := h.Open(virtual)
	if err != nil {
		writeError(w, err)
		return nil, fileStat{}, false
	}
	st, err = statFile(f)
	if err != nil {
		f.Close()
		internalError(w, "stat", virtual, err)
		return nil, fileStat{}, false
	}
	return f, st, true
}

// openRegular is openStat for operations (op) on regular files only.
func (h *Handler) openRegular(w http.ResponseWriter, virtual, op string) (f *os.File, st fileStat, ok bool) {
	f, st, ok = h.openStat(w, virtual)
	if !ok {
		return nil, st, false
	}
	if msg := notRegular(virtual, st, op); msg != "" {
		f.Close()
		http.Error(w, msg, http.StatusBadRequest)
		return nil, st, false
	}
	return f, st, true
}
