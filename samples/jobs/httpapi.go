package main

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"time"
)

// maxBody bounds a job definition.
const maxBody = 1 << 20

// jobView is a job as the API shows it.
type jobView struct {
	Job     Job       `json:"job"`
	Next    time.Time `json:"next,omitzero"`
	Pending string    `json:"pending,omitempty"`
	LastRun *Run      `json:"last_run,omitempty"`
}

// handler is the framework's HTTP API:
//
//	GET    /jobs              every job, with its next run and last run
//	GET    /jobs/{name}       one job, the same way
//	PUT    /jobs/{name}       create or replace a job (the body is the job)
//	DELETE /jobs/{name}       remove a job no other job depends on
//	POST   /jobs/{name}/run   start a run now
//	GET    /jobs/{name}/runs  the job's run history, oldest first
func (f *framework) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /jobs", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		out := []jobView{}
		for _, name := range slices.Sorted(maps.Keys(f.st.Jobs)) {
			out = append(out, f.st.Jobs[name].view())
		}
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /jobs/{name}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		js := f.st.Jobs[r.PathValue("name")]
		var v jobView
		if js != nil {
			v = js.view()
		}
		f.mu.Unlock()
		if js == nil {
			writeError(w, http.StatusNotFound, errNotFound)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
	mux.HandleFunc("PUT /jobs/{name}", func(w http.ResponseWriter, r *http.Request) {
		j, err := decodeJob(http.MaxBytesReader(w, r.Body, maxBody))
		if err == nil && j.Name != r.PathValue("name") {
			err = errors.New("the job's name differs from the one in the path")
		}
		if err == nil {
			err = f.put(time.Now(), j)
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, j)
	})
	mux.HandleFunc("DELETE /jobs/{name}", func(w http.ResponseWriter, r *http.Request) {
		if err := f.remove(r.PathValue("name")); err != nil {
			writeError(w, statusOf(err), err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /jobs/{name}/run", func(w http.ResponseWriter, r *http.Request) {
		if err := f.trigger(r.PathValue("name"), time.Now()); err != nil {
			writeError(w, statusOf(err), err)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("GET /jobs/{name}/runs", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		js := f.st.Jobs[r.PathValue("name")]
		runs := []Run{} // [] rather than null for a job that never ran
		if js != nil {
			runs = append(runs, js.Runs...)
		}
		f.mu.Unlock()
		if js == nil {
			writeError(w, http.StatusNotFound, errNotFound)
			return
		}
		writeJSON(w, http.StatusOK, runs)
	})
	return mux
}

// view is the job as the API shows it; f.mu must be held.
func (js *jobState) view() jobView {
	v := jobView{Job: js.Job, Next: js.Next, Pending: js.Pending}
	if n := len(js.Runs); n > 0 {
		last := js.Runs[n-1]
		v.LastRun = &last
	}
	return v
}

func statusOf(err error) int {
	switch {
	case errors.Is(err, errNotFound):
		return http.StatusNotFound
	case errors.Is(err, errConflict):
		return http.StatusConflict
	}
	return http.StatusBadRequest
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}
