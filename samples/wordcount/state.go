package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/google/renameio/v2"
)

// saved is what --state keeps of a job, so that a job stopped and started
// again carries on: its framework, the tasks in flight, and where each
// finished piece left its output, which is read again through the master
// rather than kept here. It is saved after every change, before the
// update that caused it is acknowledged.
type saved struct {
	path string
	// Input, Maps and Reducers say which job this is: a state file of
	// another job is refused.
	Input       string `json:"input"` // the text's sha256
	Maps        int    `json:"maps"`
	Reducers    int    `json:"reducers"`
	FrameworkID string `json:"framework_id,omitempty"`
	// Launched holds the tasks handed to the master that have not ended:
	// task ID → piece ("map-3").
	Launched map[string]string `json:"launched,omitempty"`
	// Done holds each finished piece's output, by piece.
	Done map[string]output `json:"done,omitempty"`
	// Attempts counts the tasks launched for each piece.
	Attempts map[string]int `json:"attempts,omitempty"`
}

// output is where a finished task left its counts: its stdout, in its
// sandbox on its agent.
type output struct {
	AgentID string `json:"agent_id"`
	Path    string `json:"path"`
}

// loadState reads the state a stopped job left in path, or starts one
// (path "" keeps it in memory only).
func loadState(path string, text []byte, maps, reducers int) (*saved, error) {
	sum := sha256.Sum256(text)
	st := &saved{path: path, Input: hex.EncodeToString(sum[:]), Maps: maps, Reducers: reducers}
	if path != "" {
		data, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("read state: %w", err)
		default:
			old := *st
			if err := json.Unmarshal(data, st); err != nil {
				return nil, fmt.Errorf("state %s: %w (remove it to start afresh)", path, err)
			}
			if st.Input != old.Input || st.Maps != old.Maps || st.Reducers != old.Reducers {
				return nil, fmt.Errorf("state %s is another job's (its input, --maps or --reducers differ; remove it to start afresh)", path)
			}
			for id, p := range st.Launched {
				if err := st.checkPiece(p); err != nil {
					return nil, fmt.Errorf("state %s: task %s: %w", path, id, err)
				}
			}
			for p := range st.Done {
				if err := st.checkPiece(p); err != nil {
					return nil, fmt.Errorf("state %s: %w", path, err)
				}
			}
		}
	}
	if st.Launched == nil {
		st.Launched = map[string]string{}
	}
	if st.Done == nil {
		st.Done = map[string]output{}
	}
	if st.Attempts == nil {
		st.Attempts = map[string]int{}
	}
	return st, nil
}

// save writes the state atomically, when the job keeps one.
func (st *saved) save() error {
	if st.path == "" {
		return nil
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := renameio.WriteFile(st.path, data, 0o644); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// remove deletes the state once the job is complete.
func (st *saved) remove() {
	if st.path != "" {
		warn("remove state", os.Remove(st.path))
	}
}

// checkPiece reports a piece name that is not one of this job's.
func (st *saved) checkPiece(s string) error {
	p, err := parsePiece(s)
	if err != nil {
		return err
	}
	if limit := map[bool]int{false: st.Maps, true: st.Reducers}[p.reduce]; p.index >= limit {
		return fmt.Errorf("%s is not a piece of a job of %d maps and %d reducers", s, st.Maps, st.Reducers)
	}
	return nil
}

// parsePiece is piece.String's inverse.
func parsePiece(s string) (piece, error) {
	kind, n, _ := strings.Cut(s, "-")
	i, err := strconv.Atoi(n)
	if err != nil || i < 0 || (kind != "map" && kind != "reduce") {
		return piece{}, fmt.Errorf("%q is not a piece (map-N or reduce-N)", s)
	}
	return piece{reduce: kind == "reduce", index: i}, nil
}
