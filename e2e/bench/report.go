//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// Row is one figure of the report, beside its target.
type Row struct {
	Item    string  `json:"item"`           // the letter: a..h
	Measure string  `json:"measure"`        // what was measured
	Value   float64 `json:"value"`          // in Unit
	Unit    string  `json:"unit"`           // ms, tasks/s, KB, ...
	Target  string  `json:"target"`         // the target, in words
	Met     *bool   `json:"met,omitempty"`  // nil: no target, or not comparable
	Note    string  `json:"note,omitempty"` // how, or why skipped
	Skipped bool    `json:"skipped,omitempty"`
}

// Report is everything one run of the suite measured.
type Report struct {
	Started  time.Time `json:"started"`
	Duration string    `json:"duration"`
	Quick    bool      `json:"quick"`
	Machine  Machine   `json:"machine"`
	Rows     []Row     `json:"rows"`
	// Latencies holds the raw latency samples in milliseconds, by
	// series name ("a/wazero", "c/native", "c/fork+exec"), for the plots.
	Latencies map[string][]float64 `json:"latencies"`

	mu sync.Mutex
}

// Machine describes where the suite ran.
type Machine struct {
	CPUs      int    `json:"cpus"`
	Model     string `json:"cpu_model"`
	MemoryGiB int    `json:"memory_gib"`
	Kernel    string `json:"kernel"`
	Go        string `json:"go"`
	LoadAvg   string `json:"loadavg_at_start"`
}

func readMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				m.Model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		fmt.Sscanf(strings.TrimPrefix(strings.SplitN(string(b), "\n", 2)[0], "MemTotal:"), "%d", &kb)
		m.MemoryGiB = int((kb + 1<<19) >> 20)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return m
}

// add appends a row, safe for concurrent use.
func (r *Report) add(row Row) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Rows = append(r.Rows, row)
}

// samples records a latency series.
func (r *Report) samples(name string, ds []time.Duration) {
	ms := make([]float64, len(ds))
	for i, d := range ds {
		ms[i] = float64(d) / 1e6
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Latencies == nil {
		r.Latencies = map[string][]float64{}
	}
	r.Latencies[name] = ms
}

// atMost and atLeast compare a value with a target.
func atMost(v, limit float64) *bool  { b := v <= limit; return &b }
func atLeast(v, limit float64) *bool { b := v >= limit; return &b }

// printTable writes the rows, sorted by item, as an aligned table.
func (r *Report) printTable(w io.Writer) {
	rows := slices.Clone(r.Rows)
	slices.SortStableFunc(rows, func(a, b Row) int { return strings.Compare(a.Item, b.Item) })
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ITEM\tMEASURE\tVALUE\tTARGET\tMET\tNOTE")
	for _, row := range rows {
		val := formatValue(row.Value, row.Unit)
		if row.Skipped {
			val = "skipped"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", row.Item, row.Measure, val, row.Target, metWord(row.Met), row.Note)
	}
	tw.Flush()
}

func metWord(m *bool) string {
	switch {
	case m == nil:
		return "-"
	case *m:
		return "yes"
	}
	return "NO"
}

// formatValue prints a value with sensible precision.
func formatValue(v float64, unit string) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.0f %s", v, unit)
	case v >= 10:
		return fmt.Sprintf("%.1f %s", v, unit)
	}
	return fmt.Sprintf("%.3g %s", v, unit)
}

// writeJSON writes the report to path.
func (r *Report) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// progress shows what the suite is doing on stderr: a line redrawn in
// place on a terminal, a line every few seconds otherwise.
type progress struct {
	mu       sync.Mutex
	tty      bool
	last     time.Time
	lastLine string
}

func newProgress() *progress {
	fi, err := os.Stderr.Stat()
	return &progress{tty: err == nil && fi.Mode()&os.ModeCharDevice != 0}
}

// set shows a status line.
func (p *progress) set(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprintf(os.Stderr, "\r\033[K%s", line)
		return
	}
	if time.Since(p.last) >= 5*time.Second || !sameStep(line, p.lastLine) {
		fmt.Fprintln(os.Stderr, line)
		p.last = time.Now()
	}
	p.lastLine = line
}

// sameStep reports whether two status lines are about the same step: the
// text before the first ':'.
func sameStep(a, b string) bool {
	ia, ib := strings.IndexByte(a, ':'), strings.IndexByte(b, ':')
	return ia >= 0 && ib >= 0 && a[:ia] == b[:ib]
}

// done ends the status line with a result.
func (p *progress) done(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprint(os.Stderr, "\r\033[K")
	}
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	p.lastLine = ""
}
