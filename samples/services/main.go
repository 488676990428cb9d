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
	appsFile := flag.String("apps", "", "a JSON array of apps to put at start")
	statePath := flag.String("state", "services-state.json", "where the framework keeps its state across restarts")
	listen := flag.String("listen", "127.0.0.1:8080", "the HTTP API's address")
	failover := flag.Duration("failover-timeout", 7*24*time.Hour, "how long the master keeps this framework's tasks while it is away")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, *master, *appsFile, *statePath, *listen, *failover); err != nil {
		fmt.Fprintln(os.Stderr, "services:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, master, appsFile, statePath, listen string, failover time.Duration) error {
	st, err := loadState(statePath)
	if err != nil {
		return err
	}
	c := newController(statePath, st, log)
	if appsFile != "" {
		data, err := os.ReadFile(appsFile)
		if err != nil {
			return err
		}
		var raws []json.RawMessage
		if err := json.Unmarshal(data, &raws); err != nil {
			return fmt.Errorf("%s: want a JSON array of apps: %w", appsFile, err)
		}
		var apps []App
		for i, raw := range raws {
			a, err := decodeApp(bytes.NewReader(raw))
			if err != nil {
				return fmt.Errorf("%s: app %d: %w", appsFile, i, err)
			}
			apps = append(apps, a)
		}
		if err := c.put(apps...); err != nil {
			return fmt.Errorf("%s: %w", appsFile, err)
		}
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("HTTP API: %w", err)
	}
	log.Info("services API listening", "addr", ln.Addr().String())
	srv := &http.Server{Handler: c.handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	err = c.run(ctx, master, failover)
	if ctx.Err() != nil {
		return nil // interrupted: the instances keep running, the state is saved
	}
	return err
}
