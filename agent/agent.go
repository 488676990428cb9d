package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mezzo-cluster/mezzo/agent/fetcher"
	"github.com/mezzo-cluster/mezzo/agent/files"
	"github.com/mezzo-cluster/mezzo/api/auth"
	"github.com/mezzo-cluster/mezzo/api/tlsconf"
)

// Agent runs tasks for the master on one machine, each in an executor
// process. Create it with New, serve Handler on Config.Port (executors
// call it there) and call Run.
//
// Lock order: executorRun.cgMu, then Agent.mu, then updateManager.mu,
// then committer.mu. The goroutine that commits a group (the
// committer's, or a caller of committer.drain, which holds no lock)
// takes updateManager.mu (a write's after) and no other lock; nothing
// waits for a write with updateManager.mu held.
type Agent struct {
	cfg     Config
	store   *store // agent.db
	updates *updateManager
	files   *files.Handler
	modules *moduleCache
	spares  *spares          // task sandboxes made ahead; nil if they cannot be
	fetcher *fetcher.Fetcher // CommandInfo.uris into sandboxes
	log     *slog.Logger
	client  *http.Client // calls to the master
	stream  *http.Client // the subscription, which has no timeout
	// fetchRoom is the room on the sandboxes' disk that the fetches
	// under way share (fetchLimit).
	fetchRoom fetcher.Room

	// recovering is set until New has recovered the executors in
	// agent.db; the executor API answers 503 meanwhile.
	recovering atomic.Bool
	stopCtx    context.Context // ends when Run is shutting down
	stopCancel context.CancelFunc
	quit       chan struct{} // closed when Run has shut the executors down
	quitOnce   sync.Once
	execWG     sync.WaitGroup // goroutines watching and preparing executors
	// registered is closed once the agent has subscribed to a master
	// (registeredOnce): a recovered task prepared again may need the
	// master for its module (relaunch).
	registered     chan struct{}
	registeredOnce sync.Once
	// messageSlots bounds the executors' MESSAGE calls on their way to
	// the master (maxMessagesInFlight): each is a goroutine and a request,
	// and an executor must not be able to pile them up without end.
	messageSlots chan struct{}

	// gcMu lets one collection (collectSandboxes) run at a time; it is
	// taken before mu.
	gcMu sync.Mutex

	mu        sync.Mutex
	agentID   string
	streamID  string
	master    string // base URL of the master the agent is subscribed to
	epoch     uint64 // the newest leader epoch seen; see fence
	executors map[execKey]*executorRun
	taskIndex map[taskKey]*executorRun // every task not ended, to its executor
	shared    map[string]*executorRun  // each framework's shared executor, by framework ID
	stopping  bool                     // Run is shutting down: no more launches
	// held counts, by run directory, what may still write in a run
	// whether or not it is in executors (holdRun): the collector takes
	// no run held.
	held map[string]int
	// exits are the exits of named executors (executorRun.named) that the
	// master has not accepted yet, by executor (reportExecutorExited).
	exits map[execKey]*pendingExit

	defaultUser string // Config.TaskUser or its default; "" is the agent's own user (user.go)
	// cgParent is where executors' cgroups are made (cgroup.go); "" when
	// executors run without cgroups. Set by New.
	cgParent string
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
	defaultUser := defaultTaskUser(cfg.TaskUser)
	if err := checkTaskUser(defaultUser); err != nil {
		return nil, err
	}
	for _, dir := range []string{cfg.sandboxRoot(), cfg.moduleDir()} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create agent work dir: %w", err)
		}
	}
	log := slog.Default().With("component", "agent")
	if cfg.bootID == "" {
		cfg.bootID = hostBootID()
	}
	st, id, err := openCheckpoint(cfg.WorkDir, cfg.bootID, log)
	if err != nil {
		return nil, err
	}
	updates, err := newUpdateManager(st, cfg.StatusRetryMin, cfg.StatusRetryMax, time.Now())
	if err != nil {
		st.close()
		return nil, err
	}
	if cfg.Recover == "" {
		cfg.Recover = RecoverReconnect
	}
	a := &Agent{
		cfg:     cfg,
		store:   st,
		agentID: id.AgentID,
		updates: updates,
		files:   files.NewHandler(cfg.sandboxRoot(), files.TopDirRoots()),
		log:     log,
		// Updates go to the master updateSenders at a time: keep as many
		// connections (the default keeps two).
		client:       &http.Client{Timeout: 75 * time.Second, Transport: cfg.credentialed(masterTransport(cfg.TLS))},
		stream:       &http.Client{Transport: cfg.credentialed(tlsconf.Transport(cfg.TLS))},
		quit:         make(chan struct{}),
		messageSlots: make(chan struct{}, maxMessagesInFlight),
		registered:   make(chan struct{}),
		executors:    map[execKey]*executorRun{},
		taskIndex:    map[taskKey]*executorRun{},
		shared:       map[string]*executorRun{},
		held:         map[string]int{},
		exits:        map[execKey]*pendingExit{},

		defaultUser: defaultUser,
	}
	a.recovering.Store(true)
	a.warnUnreachableSandboxes()
	a.initCgroups()
	a.stopCtx, a.stopCancel = context.WithCancel(context.Background())
	a.modules = newModuleCache(cfg.moduleDir(), a.client)
	if a.spares, err = newSpares(filepath.Join(cfg.WorkDir, "spare-sandboxes"), log); err != nil {
		log.Warn("launches make their task sandboxes themselves", "err", err)
	}
	local := cfg.FetchLocalDirs
	if len(local) == 0 {
		local = []string{filepath.Join(cfg.WorkDir, "files")}
	}
	a.fetcher, err = fetcher.New(fetcher.Config{
		CacheDir:     filepath.Join(cfg.WorkDir, "fetch-cache"),
		StallTimeout: cfg.FetcherStallTimeout,
		// The stall timeout ends a download that goes silent, and a kill
		// ends a task's download at once; this overall bound stays for
		// a server that trickles a byte now and then, never stalling,
		// which would otherwise hold the task in TASK_STAGING, its
		// connection open and its sandbox growing, until its framework
		// gives up. Mesos bounds a fetch likewise, by its
		// --executor_registration_timeout. Ten minutes is long enough
		// for the largest download allowed (fetcher.DefaultMaxBytes,
		// 1 GiB) at about 2 MB/s.
		HTTPClient:   &http.Client{Timeout: 10 * time.Minute},
		ModuleClient: a.client,
		LocalDirs:    local,
		ModuleURL: func(sha string) string {
			a.mu.Lock()
			defer a.mu.Unlock()
			return a.master + "/api/v1/modules/" + sha
		},
	})
	if err != nil {
		a.spares.close()
		st.close()
		return nil, fmt.Errorf("start fetcher: %w", err)
	}
	if err := a.recover(); err != nil {
		close(a.quit)
		a.execWG.Wait()
		a.spares.close()
		st.close()
		return nil, err
	}
	a.recovering.Store(false)
	return a, nil
}

// masterTransport is the transport of the agent's calls to the master,
// over TLS with tlsCfg when it is set.
func masterTransport(tlsCfg *tls.Config) *http.Transport {
	t := tlsconf.Transport(tlsCfg)
	t.MaxIdleConnsPerHost = updateSenders
	return t
}

// authenticated requires Config.Authenticator's credentials of a request,
// when the agent has one: the sandboxes' files and the usage of its tasks
// are for the masters (which proxy them to authenticated clients) and
// operators, not for whoever reaches the port.
func (a *Agent) authenticated(h http.Handler) http.Handler {
	if a.cfg.Authenticator == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := a.cfg.Authenticator.Authenticate(r); err != nil {
			w.Header().Set("WWW-Authenticate", auth.Challenge)
			http.Error(w, "Unauthorized: "+err.Error(), http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// credentialed wraps a transport to the masters with the agent's
// credential, if it has one.
func (c Config) credentialed(base http.RoundTripper) http.RoundTripper {
	if c.Principal == "" {
		return base
	}
	return &auth.Transport{Base: base, Principal: c.Principal, Secret: c.Secret, HTTPSOnly: c.TLS != nil}
}

func (c Config) sandboxRoot() string { return filepath.Join(c.WorkDir, "sandboxes") }
func (c Config) moduleDir() string   { return filepath.Join(c.WorkDir, "modules") }

// Handler returns the agent's HTTP API: the v1 Executor API its
// executors call, the files API over its sandboxes, the operator API's
// GET_CONTAINERS (POST /api/v1) and /monitor/statistics with each running
// task's usage, and a health check. It
// must be served for as long as Run runs: executors report there, also
// while Run shuts them down.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/executor", a.serveExecutor) // executors prove themselves with their token
	mux.Handle("/api/v1", a.authenticated(http.HandlerFunc(a.serveOperator)))
	mux.Handle("GET /monitor/statistics", a.authenticated(http.HandlerFunc(a.serveMonitor)))
	mux.Handle("GET /monitor/statistics.json", a.authenticated(http.HandlerFunc(a.serveMonitor)))
	mux.Handle("/files/", a.authenticated(a.files))
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
// and delivers status updates, until ctx ends or the master tells the
// agent to shut down (a *ShutdownError). Then it shuts its executors down
// (SHUTDOWN, then SIGKILL after Config.ExecutorShutdownGrace) and waits
// for them. An agent that dies without Run returning (SIGKILL, a crash)
// leaves its executors running; the next agent on the same work
// directory recovers them.
func (a *Agent) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.deliverUpdates(ctx)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.gcLoop(ctx, time.Minute) // Mesos's --disk_watch_interval
	}()
	a.awaitRecoveredExecutors(ctx)
	stopped := a.subscribeLoop(ctx)
	cancel()
	wg.Wait()
	a.shutdownExecutors()
	a.sweepCgroups(nil) // what executors that outlived SIGKILL left, and the agent's own
	return errors.Join(stopped, a.store.close())
}

// executorReregisterWait bounds how long a restarted agent waits for the
// executors it recovered to subscribe again before it registers with a
// master, as Mesos's --executor_reregistration_timeout (2 s): an
// executor retries at most every 2 s (sdk/executor's DefaultMaxBackoff).
const executorReregisterWait = 3 * time.Second

// awaitRecoveredExecutors waits until every executor recovered from
// agent.db has subscribed again or exited, or executorReregisterWait has
// passed. Why: a subscribing executor tells the agent of tasks agent.db
// may not hold (launchTasks's lazy checkpoint; adoptListed), and the
// agent's registration lists its tasks: a master told of fewer takes the
// others to be lost (TASK_LOST) while they run.
func (a *Agent) awaitRecoveredExecutors(ctx context.Context) {
	deadline := time.Now().Add(executorReregisterWait)
	for ctx.Err() == nil {
		a.mu.Lock()
		waiting := 0
		for _, r := range a.executors {
			if r.recovered && !r.subscribed && !r.exited {
				waiting++
			}
		}
		a.mu.Unlock()
		if waiting == 0 {
			return
		}
		if time.Now().After(deadline) {
			a.log.Info("registering before every recovered executor has subscribed again", "waiting", waiting,
				"after", executorReregisterWait)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// shutdownExecutors shuts every executor down and waits until they have
// exited and every goroutine watching them has ended.
func (a *Agent) shutdownExecutors() {
	a.mu.Lock()
	a.stopping = true
	var runs []*executorRun
	grace := a.cfg.ExecutorShutdownGrace
	for _, r := range a.executors {
		runs = append(runs, r)
		a.shutdownRun(r)
		grace = max(grace, shutdownGrace(a.cfg, r))
	}
	a.mu.Unlock()
	a.stopCancel()
	deadline := time.After(grace + 5*time.Second)
	for _, r := range runs {
		select {
		case <-r.done:
		case <-deadline:
			a.log.Error("executor did not exit after SIGKILL", "executor", r.key.executor, "pid", r.rec.PID)
		}
	}
	a.quitOnce.Do(func() { close(a.quit) })
	a.execWG.Wait()
	a.spares.close()
}
