package agent

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

func TestCollectSandboxes(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name     string
		age      time.Duration
		live     bool
		headroom float64
		want     bool // removed
	}{
		{name: "young", age: time.Hour, want: false},
		{name: "old", age: 8 * 24 * time.Hour, want: true},
		{name: "old but live", age: 8 * 24 * time.Hour, live: true, want: false},
		{name: "young under disk pressure", age: time.Hour, headroom: 0.999, want: true},
		{name: "live under disk pressure", age: time.Hour, live: true, headroom: 0.999, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newBareAgent(t, func(c *Config) { c.SandboxGCHeadroom = tt.headroom })
			runs := filepath.Join(a.cfg.sandboxRoot(), "fw", "ex", "runs")
			dir := filepath.Join(runs, "c1")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, "stdout"), []byte("x"), 0o644)
			os.Symlink("c1", filepath.Join(runs, "latest"))
			mtime := now.Add(-tt.age)
			os.Chtimes(dir, mtime, mtime)
			if tt.live {
				a.mu.Lock()
				r := a.newRun("fw", api.FrameworkInfo{}, api.ExecutorInfo{ExecutorID: api.ExecutorID{Value: "ex"}})
				r.rec.Dir = dir
				a.executors[r.key] = r
				a.mu.Unlock()
			}
			a.collectSandboxes(now)
			_, err := os.Stat(dir)
			if removed := os.IsNotExist(err); removed != tt.want {
				t.Fatalf("removed = %v, want %v", removed, tt.want)
			}
		})
	}
}
