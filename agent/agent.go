package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mezzo-cluster/mezzo/agent/fetcher"
	"github.com/mezzo-cluster/mezzo/agent/files"
	"github.com/mezzo-cluster/mezzo/sandbox"
)

// Agent runs tasks for the master on one machine. Create it with New,
// serve Handler on Config.Port and call Run.
//
// Lock order: Agent.mu, then updateManager.mu.
type Agent struct {
	cfg     Config
	engine  *sandbox.Engine
	store   *store // agent.db
	updates *updateManager
	files   *files.Handler
	modules *moduleCache
	fetcher *fetcher.Fetcher // CommandInfo.uris into sandboxes
	log     *slog.Logger
	client  *http.Client // calls to the master
	stream  *http.Client // the subscription, which has no timeout

	mu       sync.Mutex
	agentID  string
	streamID string
	master   string // base URL of the master the agent is subscribed to
	tasks    map[taskKey]*runningTask
	wg       sync.WaitGroup // running task goroutines
}

// New returns an agent for cfg, creating its work directory.
func New(ctx context.Context, cfg Config) (*Agent, error) {
	if len(cfg.Resources) == 0 {
		if err := os.MkdirAll(cfg.WorkDir, 0o755); err == nil {
			cfg.Resources = DetectResources(cfg.WorkDir)
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	for _, dir := range []string{cfg.sandboxRoot(), cfg.moduleDir()} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create agent work dir: %w", err)
		}
	}
	st, err := openStore(filepath.Join(cfg.WorkDir, "agent.db"))
	if err != nil {
		return nil, err
	}
	agentID, err := st.agentID()
	if err != nil {
		st.close()
		return nil, fmt.Errorf("read agent ID: %w", err)
	}
	updates, err := newUpdateManager(st, cfg.StatusRetryMin, cfg.StatusRetryMax, time.Now())
	if err != nil {
		st.close()
		return nil, err
	}
	engine, err := sandbox.NewEngine(ctx, sandbox.EngineConfig{
		CacheDir: filepath.Join(cfg.moduleDir(), "compiled"), DefaultEngine: cfg.WasmEngine,
	})
	if err != nil {
		st.close()
		return nil, fmt.Errorf("start wasm engine: %w", err)
	}
	a := &Agent{
		cfg:     cfg,
		engine:  engine,
		store:   st,
		agentID: agentID,
		updates: updates,
		files:   files.NewHandler(cfg.sandboxRoot()),
		log:     slog.Default().With("component", "agent"),
		client:  &http.Client{Timeout: 75 * time.Second},
		stream:  &http.Client{},
		tasks:   map[taskKey]*runningTask{},
	}
	a.modules = newModuleCache(cfg.moduleDir(), engine, a.client)
	local := cfg.FetchLocalDirs
	if len(local) == 0 {
		local = []string{filepath.Join(cfg.WorkDir, "files")}
	}
	a.fetcher, err = fetcher.New(fetcher.Config{
		CacheDir:   filepath.Join(cfg.WorkDir, "fetch-cache"),
		HTTPClient: &http.Client{Timeout: 10 * time.Minute},
		LocalDirs:  local,
		ModuleURL: func(sha string) string {
			a.mu.Lock()
			defer a.mu.Unlock()
			return a.master + "/api/v1/modules/" + sha
		},
	})
	if err != nil {
		engine.Close(ctx)
		st.close()
		return nil, fmt.Errorf("start fetcher: %w", err)
	}
	return a, nil
}

func (c Config) sandboxRoot() string { return filepath.Join(c.WorkDir, "sandboxes") }
func (c Config) moduleDir() string   { return filepath.Join(c.WorkDir, "modules") }

// Handler returns the agent's HTTP API: the files API over its sandboxes
// and a health check.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/files/", a.files)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	return mux
}

// ID returns the ID the master gave the agent, or "" before it subscribed.
func (a *Agent) ID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.agentID
}

// Run keeps the agent subscribed to a master, reconnecting with backoff,
// and delivers status updates, until ctx ends. Then it kills its tasks and
// waits for them.
func (a *Agent) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.deliverUpdates(ctx)
	}()
	a.subscribeLoop(ctx)
	wg.Wait()
	a.killAll()
	a.wg.Wait()
	err := a.engine.Close(context.Background())
	if cerr := a.store.close(); err == nil {
		err = cerr
	}
	return err
}

// killAll kills every task, for shutdown.
func (a *Agent) killAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, t := range a.tasks {
		t.kill(0)
	}
}
