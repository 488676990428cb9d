package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/mezzo-cluster/mezzo/samples/wordcount/words"
	"github.com/mezzo-cluster/mezzo/sdk/operator"
	"github.com/mezzo-cluster/mezzo/sdk/wasmbuild"
)

func main() {
	var cfg config
	flag.StringVar(&cfg.master, "master", "127.0.0.1:5050", "the masters, HOST:PORT[,HOST:PORT...]: any of them; the client follows the leader")
	flag.StringVar(&cfg.input, "input", "", "the text to count (required)")
	flag.StringVar(&cfg.out, "out", "", "write the counts here as word<TAB>count lines (default: print the top words only)")
	flag.IntVar(&cfg.maps, "maps", 4, "how many map tasks (chunks of the input)")
	flag.IntVar(&cfg.reducers, "reducers", 2, "how many reduce tasks")
	flag.IntVar(&cfg.retries, "retries", 3, "how many times a failed task is launched again")
	flag.Float64Var(&cfg.cpus, "cpus", 0.1, "CPUs per task")
	flag.Float64Var(&cfg.mem, "mem", 64, "memory per task, in MB")
	flag.StringVar(&cfg.listen, "listen", "127.0.0.1:0", "where this framework serves the tasks' inputs")
	flag.StringVar(&cfg.advertise, "advertise", "", "HOST:PORT agents use to reach --listen (default: its address)")
	flag.StringVar(&cfg.mapModule, "map-module", "github.com/mezzo-cluster/mezzo/samples/modules/wcmap", "the map task: a .wasm file or a Go package to build")
	flag.StringVar(&cfg.reduceModule, "reduce-module", "github.com/mezzo-cluster/mezzo/samples/modules/wcreduce", "the reduce task: a .wasm file or a Go package to build")
	flag.StringVar(&cfg.state, "state", "", "keep the framework ID, the tasks in flight and where each finished task's output is in this file, so that a job stopped and started again with it carries on (removed when the job ends)")
	check := flag.Bool("check", false, "compare the result with a local count; exit 1 if they differ")
	flag.Parse()
	if cfg.input == "" || cfg.maps < 1 || cfg.reducers < 1 || cfg.retries < 0 {
		fmt.Fprintln(os.Stderr, "usage: wordcount --input FILE [--maps N] [--reducers R] [--out FILE] [--check]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, *check); err != nil {
		fmt.Fprintln(os.Stderr, "wordcount:", err)
		os.Exit(1)
	}
}

type config struct {
	master, input, out      string
	maps, reducers, retries int
	cpus, mem               float64
	listen, advertise       string
	state                   string
	mapModule, reduceModule string
	opsOptions              []operator.Option // credentials and TLS, from the environment
}

func run(ctx context.Context, cfg config, check bool) error {
	text, err := os.ReadFile(cfg.input)
	if err != nil {
		return err
	}
	// Credentials and TLS as the mezzo CLI takes them (MEZZO_PRINCIPAL,
	// MEZZO_SECRET_FILE, MEZZO_TLS_CA, ...).
	if cfg.opsOptions, err = operator.FromEnv(os.Getenv); err != nil {
		return err
	}
	ops := operator.NewFirst(ctx, strings.Split(cfg.master, ","), cfg.opsOptions...)
	mapSHA, err := pushModule(ctx, ops, cfg.mapModule)
	if err != nil {
		return err
	}
	reduceSHA, err := pushModule(ctx, ops, cfg.reduceModule)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("serve the tasks' inputs: %w", err)
	}
	base := "http://" + ln.Addr().String()
	if cfg.advertise != "" {
		base = "http://" + cfg.advertise
	}
	st, err := loadState(cfg.state, text, cfg.maps, cfg.reducers)
	if err != nil {
		return err
	}
	j := newJob(cfg, ops, base, words.Chunks(text, cfg.maps), mapSHA, reduceSHA, st)
	srv := &http.Server{Handler: j.handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	counts, err := j.run(ctx)
	if err != nil {
		return err
	}
	j.report(os.Stdout, counts)
	if cfg.out != "" {
		f, err := os.Create(cfg.out)
		if err != nil {
			return err
		}
		if err := words.WriteCounts(f, counts); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if check {
		local := map[string]int64{}
		if err := words.Count(strings.NewReader(string(text)), local); err != nil {
			return err
		}
		if !maps.Equal(local, counts) {
			return errors.New("check: the distributed count differs from the local count")
		}
		fmt.Println("check: the distributed count matches a local count")
	}
	return nil
}

// pushModule uploads a module given as a .wasm file or a Go package, and
// returns its hash.
func pushModule(ctx context.Context, ops *operator.Client, spec string) (string, error) {
	var wasm []byte
	var err error
	if strings.HasSuffix(spec, ".wasm") {
		wasm, err = os.ReadFile(spec)
	} else {
		wasm, err = wasmbuild.Build(ctx, "", spec)
	}
	if err != nil {
		return "", err
	}
	m, err := ops.PushModule(ctx, wasm)
	if err != nil {
		return "", err
	}
	return m.SHA256, nil
}

// report prints the timings and the most frequent words.
func (j *job) report(w *os.File, counts map[string]int64) {
	var total int64
	for _, c := range counts {
		total += c
	}
	fmt.Fprintf(w, "map:     %d tasks in %v\n", len(j.chunks), j.mapDone.Sub(j.start).Round(time.Millisecond))
	fmt.Fprintf(w, "reduce:  %d tasks in %v\n", j.cfg.reducers, j.end.Sub(j.mapDone).Round(time.Millisecond))
	fmt.Fprintf(w, "total:   %v, %d words, %d distinct, %d tasks relaunched\n",
		j.end.Sub(j.start).Round(time.Millisecond), total, len(counts), j.relaunched)
	top := slices.SortedFunc(maps.Keys(counts), func(a, b string) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), strings.Compare(a, b))
	})
	for _, word := range top[:min(10, len(top))] {
		fmt.Fprintf(w, "%8d %s\n", counts[word], word)
	}
}
