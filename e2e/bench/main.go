//go:build linux

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// options are the command's flags.
type options struct {
	items      []string
	quick      bool
	out        string
	allocSizes []int
	frameworks int
	c1mAgents  int
	c1mTasks   int
	http2      bool
	profile    bool
	plot       string
	svgDir     string
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var o options
	items := fs.String("items", "a,b,c,d,e,f,g,h,s", "the items to run, comma-separated: a..h of issue #9, s (slow clients) of issue #8")
	fs.BoolVar(&o.quick, "quick", false, "small sizes: a few minutes instead of tens")
	fs.StringVar(&o.out, "out", "bench-out", "directory for results.json, daemon logs and profiles")
	sizes := fs.String("alloc-agents", "", "simulated agent counts for item d (default 1000,10000,50000; quick 1000)")
	fs.IntVar(&o.frameworks, "frameworks", 200, "frameworks for item d")
	fs.IntVar(&o.c1mAgents, "c1m-agents", 0, "simulated agents for item e (default 5000; quick 250)")
	fs.IntVar(&o.c1mTasks, "c1m-tasks", 0, "tasks for item e (default 1000000; quick 50000)")
	fs.BoolVar(&o.http2, "http2", false, "simulated agents share HTTP/2 connections at every size (default: past 15,000 agents)")
	fs.BoolVar(&o.profile, "profile", false, "have the daemons write CPU and heap profiles into the output directory")
	fs.StringVar(&o.plot, "plot", "", "only draw the SVG plots of this results.json, then exit")
	fs.StringVar(&o.svgDir, "svg", "", "directory for the SVG plots (default: the output directory)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, it := range strings.Split(*items, ",") {
		it = strings.TrimSpace(it)
		if len(it) != 1 || (it[0] < 'a' || it[0] > 'h') && it != "s" {
			return o, fmt.Errorf("-items: %q is not one of a..h or s", it)
		}
		o.items = append(o.items, it)
	}
	def := "1000,10000,50000"
	if o.quick {
		def = "1000"
	}
	if *sizes == "" {
		*sizes = def
	}
	for _, f := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return o, fmt.Errorf("-alloc-agents: %q is not a positive number", f)
		}
		o.allocSizes = append(o.allocSizes, n)
	}
	if o.c1mAgents == 0 {
		o.c1mAgents = map[bool]int{false: 5000, true: 250}[o.quick]
	}
	if o.c1mTasks == 0 {
		o.c1mTasks = map[bool]int{false: 1000000, true: 50000}[o.quick]
	}
	if o.svgDir == "" {
		o.svgDir = o.out
	}
	return o, nil
}

func main() {
	if spec := os.Getenv(slowChildEnv); spec != "" {
		os.Exit(runSlowChild(spec)) // item s's slow clients (slow.go)
	}
	opts, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if opts.plot != "" {
		if err := plotFile(opts.plot, opts.svgDir); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, opts); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run runs the suite and writes its report.
func run(ctx context.Context, opts options) error {
	repo, err := os.Getwd()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(repo, "cmd", "mezzo")); err != nil {
		return errors.New("run from the repository root: ./cmd/mezzo not found")
	}
	out, err := filepath.Abs(opts.out)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	s := &suite{repo: repo, dir: out, opts: opts, prog: newProgress(), modules: map[string]string{},
		rep: &Report{Started: time.Now().UTC(), Quick: opts.quick, Machine: readMachine()}}
	s.prog.set("building mezzo")
	if s.bin, err = buildMezzo(ctx, repo, out); err != nil {
		return err
	}
	var failed []string
	for _, step := range s.steps() {
		if !step.wanted(opts.items) {
			continue
		}
		if err := step.run(ctx); err != nil {
			if ctx.Err() != nil {
				return err
			}
			s.prog.done("%s: FAILED: %v", step.name, err)
			s.rep.add(Row{Item: step.items[0], Measure: step.name, Skipped: true, Note: "failed: " + err.Error()})
			failed = append(failed, step.name)
		}
		// Written after every step, so that an interrupted run keeps
		// what it measured.
		s.rep.Duration = time.Since(s.rep.Started).Round(time.Second).String()
		if err := s.rep.writeJSON(filepath.Join(out, "results.json")); err != nil {
			return err
		}
	}
	fmt.Println()
	s.rep.printTable(os.Stdout)
	path := filepath.Join(out, "results.json")
	if err := s.rep.writeJSON(path); err != nil {
		return err
	}
	if err := plotReport(s.rep, opts.svgDir); err != nil {
		return err
	}
	fmt.Printf("\nwrote %s and the latency plots in %s (%s)\n", path, opts.svgDir, s.rep.Duration)
	if len(failed) > 0 {
		return fmt.Errorf("%d steps failed: %s", len(failed), strings.Join(failed, "; "))
	}
	return nil
}

// step is one measurement of the suite, run when any of its items is
// asked for.
type step struct {
	items []string
	name  string
	run   func(context.Context) error
}

// wanted reports whether any of the step's items was asked for.
func (st step) wanted(items []string) bool {
	for _, it := range st.items {
		if slices.Contains(items, it) {
			return true
		}
	}
	return false
}

// steps lists the suite in the order it runs: the quick items first, the
// large ones last.
func (s *suite) steps() []step {
	steps := []step{
		{[]string{"a", "c"}, "launch latency (a, c)", s.itemLatency},
		{[]string{"b", "g", "h"}, "throughput, Wasm (b, g, h)", func(ctx context.Context) error { return s.itemThroughput(ctx, "wasm") }},
		{[]string{"b", "h"}, "throughput, native (b, h)", func(ctx context.Context) error { return s.itemThroughput(ctx, "native") }},
		{[]string{"g"}, "memory per running Wasm task (g)", s.itemWasmMemory},
		{[]string{"f"}, "failover (f)", s.itemFailover},
		{[]string{"s"}, "slow clients (s)", s.itemSlowClients},
	}
	for _, n := range s.opts.allocSizes {
		steps = append(steps, step{[]string{"d", "g"}, fmt.Sprintf("allocation with %d agents (d, g)", n),
			func(ctx context.Context) error { return s.itemAllocation(ctx, n, s.opts.frameworks) }})
	}
	return append(steps, step{[]string{"e"}, "C1M (e)", s.itemC1M})
}
