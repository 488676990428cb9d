package webui

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/mezzo-cluster/mezzo/api"
)

type moduleListData struct {
	Modules  []api.ModuleInfo
	Uploaded string // the sha256 just uploaded, to highlight
	MaxBytes int64
}

func (c *Console) moduleList(r *http.Request, _ Principal) (*view, error) {
	mods, err := c.cluster.Modules(r.Context())
	if err != nil {
		return nil, fmt.Errorf("list modules: %w", err)
	}
	d := moduleListData{Modules: mods, MaxBytes: c.cfg.MaxUploadBytes}
	if v := r.URL.Query().Get("uploaded"); v != "" {
		if !isHash(v) {
			return nil, badRequest("uploaded must be a sha256 in lowercase hex, not %q", v)
		}
		d.Uploaded = v
	}
	return &view{Template: "modules", Title: "Modules", Nav: "modules", Data: d}, nil
}

// isHash reports whether s is a lowercase hex sha256.
func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// uploadResult is the JSON answer to a script's upload.
type uploadResult struct {
	Module *api.ModuleInfo `json:"module,omitempty"`
	Error  string          `json:"error,omitempty"`
}

// upload stores a module. console.js sends the file as the raw body and
// asks for JSON, to show progress and the validator's message in place;
// without JavaScript the form posts multipart/form-data and the answer is
// a redirect to the list, or an error page.
func (c *Console) upload(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := allow(p, ActionUploadModule, ""); err != nil {
		if r.Header.Get("Accept") == "application/json" {
			return writeJSON(w, http.StatusForbidden, uploadResult{Error: err.Error()})
		}
		return err
	}
	wantsJSON := r.Header.Get("Accept") == "application/json"
	wasm, err := c.readUpload(w, r)
	if err == nil {
		var mod api.ModuleInfo
		mod, err = c.cluster.PutModule(r.Context(), wasm)
		if err == nil {
			c.log.Info("module uploaded from the console", "sha256", mod.SHA256, "size", mod.Size)
			if wantsJSON {
				return writeJSON(w, http.StatusOK, uploadResult{Module: &mod})
			}
			http.Redirect(w, r, "/modules?uploaded="+url.QueryEscape(mod.SHA256), http.StatusSeeOther)
			return nil
		}
		err = fmt.Errorf("the master refused the module: %w", err)
	}
	if !wantsJSON {
		return err
	}
	status := statusOf(err)
	var pe *pageError
	if errors.As(err, &pe) {
		status = pe.status
	}
	return writeJSON(w, status, uploadResult{Error: err.Error()})
}

// deleteModule deletes the module named in the path, from the form in its
// row of the Modules page, and goes back to the page.
func (c *Console) deleteModule(w http.ResponseWriter, r *http.Request, p Principal) error {
	sha := r.PathValue("sha256")
	if !isHash(sha) {
		return badRequest("a module is named by its sha256 in lowercase hex, not %q", sha)
	}
	if err := allow(p, ActionDeleteModule, ""); err != nil {
		return err
	}
	if err := c.cluster.DeleteModule(r.Context(), sha); err != nil {
		return err
	}
	c.log.Info("module deleted from the console", "sha256", sha, "principal", p.Name())
	http.Redirect(w, r, "/modules", http.StatusSeeOther)
	return nil
}

// readUpload reads the module from a raw body or from the "module" file of
// a multipart form (after its csrf part), within Config.MaxUploadBytes.
func (c *Console) readUpload(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	limit := c.cfg.MaxUploadBytes
	tooLarge := &pageError{status: http.StatusRequestEntityTooLarge,
		msg: fmt.Sprintf("The module is larger than the %s the console accepts.", humanBytes(limit))}
	if r.ContentLength > limit+1<<20 {
		return nil, tooLarge
	}
	mr := multipartOf(r) // the action wrapper read its first part, the CSRF token, within the same limit
	if mr == nil {
		r.Body = http.MaxBytesReader(w, r.Body, limit+1<<20)
	}
	var body io.Reader = r.Body
	if mr != nil { // the action wrapper read its first part, the CSRF token
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return nil, badRequest("the form has no module file")
			}
			if err != nil {
				return nil, uploadError(err, tooLarge)
			}
			if part.FormName() == "module" {
				body = part
				break
			}
		}
	}
	wasm, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, uploadError(err, tooLarge)
	}
	if int64(len(wasm)) > limit {
		return nil, tooLarge
	}
	if len(wasm) == 0 {
		return nil, badRequest("the module is empty: choose a .wasm file")
	}
	return wasm, nil
}

func uploadError(err error, tooLarge error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge
	}
	return badRequest("cannot read the upload: %v", err)
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err = w.Write(b)
	return err
}
