package files

import (
	"mime"
	"net/http"
	"net/url"
	"path"
	"time"
)

// download answers with the raw bytes of a regular file as an attachment
// named after the last element of the virtual path. It goes through
// http.ServeContent, so HEAD, Range and If-Modified-Since work.
func (h *Handler) download(w http.ResponseWriter, r *http.Request, q url.Values) {
	virtual := q.Get("path")
	f, st, ok := h.openRegular(w, virtual, "download")
	if !ok {
		return
	}
	defer f.Close()
	name := path.Base(displayPath(virtual))
	disposition := mime.FormatMediaType("attachment", map[string]string{"filename": name})
	if disposition == "" {
		disposition = "attachment"
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", disposition)
	http.ServeContent(w, r, name, time.Unix(st.mtime, 0), f)
}
