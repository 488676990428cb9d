package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadState(t *testing.T) {
	text := []byte("the quick brown fox\n")
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")

	// A new job, saved and read back.
	st, err := loadState(path, text, 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	st.FrameworkID = "F"
	st.Launched["wordcount-map-1-0"] = "map-1"
	st.Done["map-0"] = output{AgentID: "A", Path: "/p/stdout"}
	st.Attempts["map-0"], st.Attempts["map-1"] = 1, 1
	if err := st.save(); err != nil {
		t.Fatal(err)
	}
	back, err := loadState(path, text, 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	if back.FrameworkID != "F" || back.Launched["wordcount-map-1-0"] != "map-1" || back.Done["map-0"].AgentID != "A" || back.Attempts["map-1"] != 1 {
		t.Fatalf("read back %+v, want what was saved", back)
	}
	back.remove()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("state after remove: %v", err)
	}

	tests := []struct {
		name, file    string
		text          string
		maps, reduces int
		wantErr       string
	}{
		{"not JSON", "{", "the quick brown fox\n", 4, 2, "remove it to start afresh"},
		{"another input", `{"input":"00","maps":4,"reducers":2}`, "the quick brown fox\n", 4, 2, "another job's"},
		{"other maps", "", "the quick brown fox\n", 5, 2, "another job's"},
		{"a piece of nothing", `{"launched":{"t":"shuffle-1"}}`, "the quick brown fox\n", 4, 2, `"shuffle-1" is not a piece`},
		{"a map past the last", `{"done":{"map-4":{}}}`, "the quick brown fox\n", 4, 2, "map-4 is not a piece of a job of 4 maps"},
		{"a negative reducer", `{"launched":{"t":"reduce--1"}}`, "the quick brown fox\n", 4, 2, "not a piece"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good, _ := loadState("", text, 4, 2) // the job's identity, for the files that keep it
			body := tt.file
			if body == "" {
				body = `{"input":"` + good.Input + `","maps":4,"reducers":2}`
			} else if strings.HasPrefix(body, `{"launched"`) || strings.HasPrefix(body, `{"done"`) {
				body = `{"input":"` + good.Input + `","maps":4,"reducers":2,` + body[1:]
			}
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := loadState(path, []byte(tt.text), tt.maps, tt.reduces)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("loadState: %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}
