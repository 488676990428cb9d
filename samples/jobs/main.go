package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	master := flag.String("master", "127.0.0.1:5050", "the masters, HOST:PORT[,HOST:PORT...]: any of them; the client follows the leader")
	jobsFile := flag.String("jobs", "", "a JSON array of jobs to add at start")
	statePath := flag.String("state", "jobs-state.json", "where the framework keeps its state across restarts")
	listen := flag.String("listen", "127.0.0.1:8081", "the HTTP API's address")
	failover := flag.Duration("failover-timeout", 7*24*time.Hour, "how long the master keeps this framework's tasks while it is away")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, *master, *jobsFile, *statePath, *listen, *failover); err != nil {
		fmt.Fprintln(os.Stderr, "jobs:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, master, jobsFile, statePath, listen string, failover time.Duration) error {
	st, err := loadState(statePath)
	if err != nil {
		return err
	}
	f := newFramework(statePath, st, log)
	if jobsFile != "" {
		data, err := os.ReadFile(jobsFile)
		if err != nil {
			return err
		}
		var raws []json.RawMessage
		if err := json.Unmarshal(data, &raws); err != nil {
			return fmt.Errorf("%s: want a JSON array of jobs: %w", jobsFile, err)
		}
		var jobs []Job
		for i, raw := range raws {
			j, err := decodeJob(bytes.NewReader(raw))
			if err != nil {
				return fmt.Errorf("%s: job %d: %w", jobsFile, i, err)
			}
			jobs = append(jobs, j)
		}
		if err := f.put(time.Now(), jobs...); err != nil {
			return fmt.Errorf("%s: %w", jobsFile, err)
		}
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("HTTP API: %w", err)
	}
	log.Info("jobs API listening", "addr", ln.Addr().String())
	srv := &http.Server{Handler: f.handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	err = f.run(ctx, master, failover)
	if ctx.Err() != nil {
		return nil // interrupted: the tasks keep running, the state is saved
	}
	return err
}
