package main

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"time"
)

// maxBody bounds an app definition.
const maxBody = 1 << 20

// appView is an app as the API shows it.
type appView struct {
	App       App         `json:"app"`
	Version   int         `json:"version"`
	Staging   int         `json:"staging"`
	Running   int         `json:"running"`
	Healthy   int         `json:"healthy"`
	Killing   int         `json:"killing"`
	Launches  int         `json:"launches"`
	Backoff   string      `json:"backoff,omitempty"`
	Waiting   string      `json:"waiting,omitempty"`
	Instances []*Instance `json:"instances,omitempty"`
}

// viewLocked summarises an app; c.mu must be held.
func (c *controller) viewLocked(id string, withInstances bool) appView {
	as := c.st.Apps[id]
	v := appView{App: as.App, Version: as.Version, Launches: as.Launches, Waiting: as.Waiting}
	if time.Now().Before(as.NotBefore) {
		v.Backoff = as.Backoff.String()
	}
	for _, in := range c.instancesOf(id) {
		switch in.State {
		case instStaging:
			v.Staging++
		case instRunning:
			v.Running++
		case instKilling:
			v.Killing++
		}
		if as.healthy(in) {
			v.Healthy++
		}
		if withInstances {
			cp := *in
			// As counted: running, and passing its health check if the
			// app has one (the state keeps what the check last said).
			cp.Healthy = as.healthy(in)
			v.Instances = append(v.Instances, &cp)
		}
	}
	return v
}

// handler is the framework's HTTP API:
//
//	GET    /apps               every app, with its instance counts
//	GET    /apps/{id}          one app, with its instances
//	PUT    /apps/{id}          create or change an app (the body is the app)
//	POST   /apps/{id}/restart  replace every instance, rolling
//	DELETE /apps/{id}          remove an app and kill its instances
func (c *controller) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /apps", func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		out := []appView{}
		for _, id := range slices.Sorted(maps.Keys(c.st.Apps)) {
			out = append(out, c.viewLocked(id, false))
		}
		c.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /apps/{id}", func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.st.Apps[r.PathValue("id")] == nil {
			writeError(w, http.StatusNotFound, errNotFound)
			return
		}
		writeJSON(w, http.StatusOK, c.viewLocked(r.PathValue("id"), true))
	})
	mux.HandleFunc("PUT /apps/{id}", func(w http.ResponseWriter, r *http.Request) {
		a, err := decodeApp(http.MaxBytesReader(w, r.Body, maxBody))
		if err == nil && a.ID != r.PathValue("id") {
			err = errors.New("the app's id differs from the one in the path")
		}
		if err == nil {
			err = c.put(a)
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, a)
	})
	mux.HandleFunc("POST /apps/{id}/restart", func(w http.ResponseWriter, r *http.Request) {
		if err := c.restart(r.PathValue("id")); err != nil {
			writeError(w, http.StatusNotFound, err)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("DELETE /apps/{id}", func(w http.ResponseWriter, r *http.Request) {
		if err := c.remove(r.PathValue("id")); err != nil {
			writeError(w, http.StatusNotFound, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}
