package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/mezzo-cluster/mezzo/agent"
	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/api/tlsconf"
	"github.com/mezzo-cluster/mezzo/master"
	"github.com/mezzo-cluster/mezzo/master/registry"
	"github.com/mezzo-cluster/mezzo/sandbox"
)

// daemonFlags are the flags every daemon shares.
type daemonFlags struct {
	workDir  string
	host     string
	insecure bool
}

func (d *daemonFlags) registerInsecure(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&d.insecure, "insecure", false, "allow listening on a non-loopback address without authentication")
}

// masterFlags configure a master.
type masterFlags struct {
	offerTimeout           time.Duration
	minAllocatable         string
	agentReregisterTimeout time.Duration
	agentRemovalLimit      float64
	peers                  string
	join                   bool
	security               securityFlags
}

func (f *masterFlags) register(cmd *cobra.Command) {
	f.security.register(cmd)
	cmd.Flags().DurationVar(&f.offerTimeout, "offer-timeout", 0, "rescind offers held longer than this (0: never, as Mesos)")
	cmd.Flags().StringVar(&f.minAllocatable, "min-allocatable-resources", defaultMinAllocatable,
		`the smallest sets of resources worth offering, alternatives separated by "|" (empty: any)`)
	cmd.Flags().DurationVar(&f.agentReregisterTimeout, "agent-reregister-timeout", 75*time.Second,
		"how long a disconnected agent has before its tasks are unreachable")
	cmd.Flags().Float64Var(&f.agentRemovalLimit, "agent-removal-limit", 0.3,
		"the largest fraction of agents marked unreachable within one re-registration timeout; past it the master alerts instead")
}

// defaultMinAllocatable is Mesos's --min_allocatable_resources default.
const defaultMinAllocatable = "cpus:0.01|mem:32"

// parseMinAllocatable reads --min-allocatable-resources: alternatives in
// the agents' resource syntax separated by "|", as Mesos writes them
// ("cpus:0.01|mem:32"); empty means any set is worth offering.
func parseMinAllocatable(s string) ([]api.Resources, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []api.Resources
	for i, alt := range strings.Split(s, "|") {
		res, err := api.ParseResources(strings.TrimSpace(alt))
		if err != nil {
			return nil, fmt.Errorf("--min-allocatable-resources alternative %d %q: %w", i+1, alt, err)
		}
		if len(res) == 0 {
			return nil, fmt.Errorf("--min-allocatable-resources alternative %d is empty", i+1)
		}
		out = append(out, res)
	}
	return out, nil
}

// registerPeers adds the flags that make a master one of several.
func (f *masterFlags) registerPeers(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.peers, "peers", "", "every master of the cluster, HOST:PORT[,HOST:PORT...] (1, 3 or 5; empty: this one alone)")
	cmd.Flags().BoolVar(&f.join, "join", false, "start empty and wait to be added to a running cluster with ADD_MASTER")
}

// agentFlags configure an agent.
type agentFlags struct {
	port           int
	resources      string
	attributes     string
	wasmEngine     string
	wasmFuel       bool
	isolation      string
	recover        string
	idle           time.Duration
	stall          time.Duration
	gcDelay        time.Duration
	allowNative    bool
	taskUser       string
	outputMaxBytes int64
	outputKeep     int
	executorEnv    string
}

func (f *agentFlags) register(cmd *cobra.Command, portFlag string, defPort int, nativeByDefault bool) {
	cmd.Flags().BoolVar(&f.allowNative, "allow-native", nativeByDefault,
		"run native tasks and custom executors, which reach whatever this agent's user can (without: WebAssembly tasks only)")
	cmd.Flags().StringVar(&f.taskUser, "task-user", "",
		"the user native tasks, custom executors and COMMAND checks run as when they name none (default: nobody when the agent runs as root, else the agent's own user; never root)")
	cmd.Flags().IntVar(&f.port, portFlag, defPort, "the agent's HTTP port (0 picks a free one)")
	cmd.Flags().StringVar(&f.resources, "resources", "", `resources to offer, e.g. "cpus:4;mem:8192;ports:[31000-32000]" (default: detected)`)
	cmd.Flags().StringVar(&f.attributes, "attributes", "", `attributes, e.g. "rack:r1;zone:a"`)
	cmd.Flags().StringVar(&f.recover, "recover", agent.RecoverReconnect,
		"what to do with the executors of an earlier run of the agent: reconnect (their tasks keep running) or cleanup (kill them)")
	cmd.Flags().DurationVar(&f.idle, "executor-idle-timeout", time.Minute,
		"how long a framework's shared executor is kept without tasks (warm, for its next launches) before it is shut down")
	cmd.Flags().DurationVar(&f.stall, "fetcher-stall-timeout", agent.DefaultConfig().FetcherStallTimeout,
		"abort the download of a task's URI when no byte has arrived for this long (Mesos's --fetcher_stall_timeout); the task fails")
	cmd.Flags().Int64Var(&f.outputMaxBytes, "sandbox-output-max-bytes", 0, "rotate a task's stdout and stderr when they reach this size (0: unbounded)")
	cmd.Flags().IntVar(&f.outputKeep, "sandbox-output-keep", 3, "how many rotated stdout and stderr files to keep")
	cmd.Flags().DurationVar(&f.gcDelay, "sandbox-gc-delay", 7*24*time.Hour, "how long the sandbox of an exited executor, or of an ended task, is kept after its end (sooner when the disk runs short)")
	cmd.Flags().StringVar(&f.wasmEngine, "wasm-engine", "", "the engine for Wasm tasks that name none: "+strings.Join(sandbox.Engines(), " or ")+" (default: the first)")
	cmd.Flags().StringVar(&f.isolation, "native-isolation", "auto",
		"what caps native tasks' memory: cgroups, rlimits (RLIMIT_DATA per process, usage from /proc), or auto (cgroups where usable, else rlimits)")
	cmd.Flags().StringVar(&f.executorEnv, "executor-environment-variables", "",
		`variables added to every executor's environment, as a JSON object or file://PATH to one, e.g. {"HTTPS_PROXY":"http://proxy:3128"} (nothing is inherited from the agent's environment)`)
	cmd.Flags().BoolVar(&f.wasmFuel, "wasm-fuel", false, "count what each Wasm task executes under wasmtime, in fuel (about one unit per instruction), in its usage; slows Wasm tasks")
}

// config turns the flags into an agent.Config for an agent on host whose
// listener is ln.
func (f *agentFlags) config(workDir, host string, ln net.Listener, masters []string) (agent.Config, error) {
	cfg := agent.DefaultConfig()
	// Absolute, so that nothing the agent derives from it (the directory
	// tasks may fetch local files from, executors' sandboxes) depends on
	// the current directory: ./.mezzo is the default.
	abs, err := filepath.Abs(workDir)
	if err != nil {
		return cfg, fmt.Errorf("--work-dir %s: %w", workDir, err)
	}
	cfg.WorkDir = abs
	cfg.Hostname = host
	cfg.Port = ln.Addr().(*net.TCPAddr).Port
	cfg.Masters = masters
	principal, secret, err := creds.credential()
	if err != nil {
		return cfg, err
	}
	cfg.Principal, cfg.Secret = principal, secret
	cfg.WasmEngine = f.wasmEngine
	cfg.WasmFuel = f.wasmFuel
	if cfg.NativeIsolation, err = sandbox.ParseIsolation(f.isolation); err != nil {
		return cfg, fmt.Errorf("--native-isolation: %w", err)
	}
	cfg.AllowNative = f.allowNative
	cfg.TaskUser = f.taskUser
	cfg.SandboxGCDelay = f.gcDelay
	cfg.OutputMaxBytes, cfg.OutputKeep = f.outputMaxBytes, f.outputKeep
	cfg.Recover = f.recover
	cfg.ExecutorIdleTimeout = f.idle
	cfg.FetcherStallTimeout = f.stall
	self, err := os.Executable()
	if err != nil {
		return cfg, fmt.Errorf("find the mezzo binary to start executors with: %w", err)
	}
	cfg.ExecutorCommand = []string{self, "executor"}
	if cfg.ExecutorEnvironment, err = parseExecutorEnv(f.executorEnv); err != nil {
		return cfg, fmt.Errorf("--executor-environment-variables: %w", err)
	}
	if f.resources != "" {
		res, err := api.ParseResources(f.resources)
		if err != nil {
			return cfg, fmt.Errorf("--resources: %w", err)
		}
		cfg.Resources = res
	}
	if f.attributes != "" {
		attrs, err := api.ParseAttributes(f.attributes)
		if err != nil {
			return cfg, fmt.Errorf("--attributes: %w", err)
		}
		cfg.Attributes = attrs
	}
	return cfg, nil
}

// parseExecutorEnv reads --executor-environment-variables as Mesos's
// agent reads its --executor_environment_variables: a JSON object whose
// values are strings, given inline or as file://PATH. Empty means none.
func parseExecutorEnv(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	data := []byte(s)
	if path, ok := strings.CutPrefix(s, "file://"); ok {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, err
		}
	}
	var env map[string]string
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf(`want a JSON object of strings, such as {"JAVA_HOME":"/usr/lib/jvm/default"}: %w`, err)
	}
	return env, nil
}

func newMasterCmd() *cobra.Command {
	var d daemonFlags
	var mf masterFlags
	var port int
	cmd := &cobra.Command{
		Use:   "master",
		Short: "Run a master",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkExposure(d.host, d.insecure, mf.security.credentials != ""); err != nil {
				return err
			}
			id, err := tlsf.daemon(d.host)
			if err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			ln, err := listen(d.host, port)
			if err != nil {
				return err
			}
			m, err := startMaster(ctx, d.workDir, d.host, ln, mf, id)
			if err != nil {
				return err
			}
			defer m.close()
			h, err := withConsole(ctx, m.Master, m.Authenticator(), m.ACLs())
			if err != nil {
				return err
			}
			slog.Info("master listening", "url", tlsconf.BaseURL(ln.Addr().String(), id != nil), "id", m.ID(), "peers", mf.peers)
			return serve(ctx, m.httpLn, h)
		},
	}
	cmd.Flags().StringVar(&d.workDir, "work-dir", "./.mezzo/master", "where the master keeps its state")
	cmd.Flags().StringVar(&d.host, "host", "127.0.0.1", "address to listen on and advertise")
	cmd.Flags().IntVar(&port, "port", 5050, "HTTP port (0 picks a free one)")
	mf.register(cmd)
	mf.registerPeers(cmd)
	d.registerInsecure(cmd)
	return cmd
}

func newAgentCmd() *cobra.Command {
	var d daemonFlags
	var a agentFlags
	var masters, credentials string
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run an agent that subscribes to a master",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			authn, err := loadCredentials(credentials)
			if err != nil {
				return err
			}
			if err := checkExposure(d.host, d.insecure, authn != nil); err != nil {
				return err
			}
			id, err := tlsf.daemon(d.host)
			if err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			ln, err := listen(d.host, a.port)
			if err != nil {
				return err
			}
			cfg, err := a.config(d.workDir, d.host, ln, splitList(masters))
			if err != nil {
				ln.Close()
				return err
			}
			cfg.Authenticator = authn
			if id != nil {
				if cfg.TLSCAFile, err = tlsf.caPath(); err != nil {
					ln.Close()
					return err
				}
				cfg.TLS = id.Client()
				ln = tls.NewListener(ln, id.Server())
			}
			ag, err := newAgent(ctx, cfg, ln)
			if err != nil {
				return err
			}
			slog.Info("agent listening", "url", tlsconf.BaseURL(ln.Addr().String(), id != nil))
			return runAgent(ctx, ag, ln)
		},
	}
	cmd.Flags().StringVar(&d.workDir, "work-dir", "./.mezzo/agent", "where the agent keeps sandboxes and modules")
	cmd.Flags().StringVar(&d.host, "host", "127.0.0.1", "address to listen on and advertise")
	cmd.Flags().StringVar(&masters, "master", "127.0.0.1:5050", "the masters, HOST:PORT[,HOST:PORT...]")
	cmd.Flags().StringVar(&credentials, "credentials", "", "principals and secrets to require on the agent's own API (files, usage); include the masters' principals")
	d.registerInsecure(cmd)
	a.register(cmd, "port", 5051, false)
	return cmd
}

func newDevCmd() *cobra.Command {
	var d daemonFlags
	var mf masterFlags
	var a agentFlags
	var port, masters int
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a master and an agent in one process, for trying Mezzo out",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !isLoopback(d.host) {
				return fmt.Errorf("mezzo dev listens on loopback only, not %s: use mezzo master and mezzo agent to serve a network", d.host)
			}
			if tlsf.set() {
				return errors.New("mezzo dev serves plain HTTP on loopback: --tls-cert, --tls-key and --tls-ca (or MEZZO_TLS_*) are for mezzo master and mezzo agent")
			}
			ctx, stop := signalContext()
			defer stop()
			if masters != 1 {
				return runDevReplicated(ctx, cmd, d, mf, a, port, masters)
			}
			mln, err := listen(d.host, port)
			if err != nil {
				return err
			}
			aln, err := listen(d.host, a.port)
			if err != nil {
				return err
			}
			m, err := startMaster(ctx, filepath.Join(d.workDir, "master"), d.host, mln, mf, nil)
			if err != nil {
				return err
			}
			defer m.close()
			cfg, err := a.config(filepath.Join(d.workDir, "agent"), d.host, aln, []string{mln.Addr().String()})
			if err != nil {
				return err
			}
			if cfg, err = reachableDevAgent(cmd, cfg); err != nil {
				return err
			}
			h, err := withConsole(ctx, m.Master, m.Authenticator(), m.ACLs())
			if err != nil {
				return err
			}
			ag, err := newAgent(ctx, cfg, aln)
			if err != nil {
				return err
			}
			errc := make(chan error, 2)
			go func() { errc <- serve(ctx, m.httpLn, h) }()
			go func() { errc <- runAgent(ctx, ag, aln) }()
			printDevBanner(cmd, mln.Addr().String(), d.workDir)
			err = <-errc
			stop()
			if err2 := <-errc; err == nil {
				err = err2
			}
			return err
		},
	}
	cmd.Flags().StringVar(&d.workDir, "work-dir", "./.mezzo", "where the cluster keeps its state")
	cmd.Flags().StringVar(&d.host, "host", "127.0.0.1", "address to listen on (loopback by default)")
	cmd.Flags().IntVar(&port, "port", 5050, "the master's HTTP port (0 picks a free one)")
	cmd.Flags().IntVar(&masters, "masters", 1, "how many masters: 1, or 3 or 5 replicated ones in processes of their own (ports from --port up)")
	mf.register(cmd)
	a.register(cmd, "agent-port", 5051, true) // one person on one machine
	return cmd
}

// reachableDevAgent moves the dev agent's work directory to the system's
// temporary directory when its native tasks' user could not reach the
// sandboxes where they are: a dev cluster run as root runs native tasks
// as nobody, and a repository cloned under /root (mode 0700) would
// otherwise fail every native task of the quick start. The place is named
// after the work directory it stands for, so that a restart finds it
// again; the agent's state (sandboxes, agent.db, modules) lives there,
// the master's stays where it was.
func reachableDevAgent(cmd *cobra.Command, cfg agent.Config) (agent.Config, error) {
	why := cfg.CheckSandboxReach()
	if why == nil {
		return cfg, nil
	}
	abs, err := filepath.Abs(cfg.WorkDir)
	if err != nil {
		return cfg, err
	}
	sum := sha256.Sum256([]byte(abs))
	moved := cfg
	moved.WorkDir = filepath.Join(os.TempDir(), "mezzo-dev-"+hex.EncodeToString(sum[:6]), "agent")
	if err := os.MkdirAll(moved.WorkDir, 0o755); err != nil {
		return cfg, fmt.Errorf("move the dev agent's work directory: %w", err)
	}
	if err := moved.CheckSandboxReach(); err != nil {
		return cfg, fmt.Errorf("native tasks cannot reach the sandboxes in %s (%v) nor in %s: %w", cfg.WorkDir, why, moved.WorkDir, err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "mezzo dev: the agent keeps its sandboxes in %s: %v\n", moved.WorkDir, why)
	return moved, nil
}

func printDevBanner(cmd *cobra.Command, addr, workDir string) {
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "mezzo dev: master and agent are up\n")
	fmt.Fprintf(out, "  console: http://%s/\n", addr)
	fmt.Fprintf(out, "  API:     http://%s/api/v1\n", addr)
	fmt.Fprintf(out, "  state:   %s\n", workDir)
	masterFlag := ""
	if !strings.HasSuffix(addr, ":5050") {
		masterFlag = " --master " + addr
	}
	fmt.Fprintf(out, "Try, in another shell:\n  go run ./cmd/mezzo run%s ./samples/modules/hello -- world\n", masterFlag)
	fmt.Fprintf(out, "Press Ctrl-C to stop.\n")
}

// runningMaster is a master with its share of the cluster: the registry
// member and the listener split between HTTP and raft.
type runningMaster struct {
	*master.Master
	httpLn net.Listener
	mux    *registry.Mux
	reg    *registry.Registry
}

// close leaves raft and closes the registry files; call it after the HTTP
// server has stopped.
func (r *runningMaster) close() {
	if err := r.reg.Close(); err != nil {
		slog.Warn("close the registry", "err", err)
	}
	r.mux.Close()
}

// startMaster opens the registry under workDir (joining or forming the
// cluster of f.peers) and starts a master over it, serving on ln: over
// TLS, raft included, with id when it is set.
func startMaster(ctx context.Context, workDir, host string, ln net.Listener, f masterFlags, id *tlsconf.Identity) (*runningMaster, error) {
	cfg := master.DefaultConfig()
	cfg.OfferTimeout = f.offerTimeout
	var err error
	if cfg.MinAllocatable, err = parseMinAllocatable(f.minAllocatable); err != nil {
		return nil, err
	}
	cfg.AgentReregisterTimeout = f.agentReregisterTimeout
	cfg.AgentRemovalLimit = f.agentRemovalLimit
	if cfg.Authenticator, cfg.ACLs, err = f.security.load(); err != nil {
		return nil, err
	}
	cfg.OpenMetrics = f.security.openMetrics
	cfg.RateLimit, cfg.MaxInFlight = f.security.rateLimit, f.security.maxInFlight
	if cfg.Principal, cfg.Secret, err = creds.credential(); err != nil {
		return nil, err
	}
	cfg.WorkDir = workDir
	cfg.Hostname = host
	cfg.AdvertiseIP = advertiseIP(host)
	cfg.Port = ln.Addr().(*net.TCPAddr).Port
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return nil, fmt.Errorf("create the work dir: %w", err)
	}
	var mux *registry.Mux
	if id != nil {
		mux = registry.NewTLSMux(ln, id.Server(), id.Client())
		cfg.TLS = id.Client()
	} else {
		mux = registry.NewMux(ln)
	}
	rcfg := registry.DefaultConfig()
	rcfg.Dir = workDir
	rcfg.Addr = net.JoinHostPort(host, strconv.Itoa(cfg.Port))
	rcfg.Peers = splitList(f.peers)
	rcfg.Join = f.join
	rcfg.Transport = mux.Raft()
	var opened atomic.Pointer[registry.Registry]
	if id != nil {
		mux.SetRaftPeers(func() []string { return registry.RaftPeers(rcfg, opened.Load()) })
	}
	reg, err := registry.Open(ctx, rcfg)
	if err != nil {
		mux.Close()
		return nil, err
	}
	opened.Store(reg)
	cfg.Registry = reg
	m, err := master.New(cfg)
	if err != nil {
		reg.Close()
		mux.Close()
		return nil, err
	}
	go m.Run(ctx)
	r := &runningMaster{Master: m, httpLn: mux.HTTP(), mux: mux, reg: reg}
	if len(rcfg.Peers) == 0 && !f.join {
		// A master alone elects itself within a heartbeat timeout or two;
		// waiting for it means that "master listening" means serving.
		deadline := time.Now().Add(15 * time.Second)
		for !m.Leading() && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
	return r, nil
}

// newAgent makes the agent, closing ln if it cannot: its configuration
// is checked and its state opened before anything is announced.
func newAgent(ctx context.Context, cfg agent.Config, ln net.Listener) (*agent.Agent, error) {
	a, err := agent.New(ctx, cfg)
	if err != nil {
		ln.Close()
		return nil, err
	}
	return a, nil
}

// runAgent serves the agent on ln and runs it until ctx ends.
func runAgent(ctx context.Context, a *agent.Agent, ln net.Listener) error {
	// The HTTP server outlives ctx until Run returns: executors report
	// the end of their tasks there while Run shuts them down.
	srvCtx, stopServer := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- serve(srvCtx, ln, a.Handler()) }()
	runErr := a.Run(ctx)
	stopServer()
	if err := <-errc; runErr == nil {
		runErr = err
	}
	return runErr
}

func advertiseIP(host string) string {
	if ip := net.ParseIP(host); ip != nil {
		return ip.String()
	}
	if addrs, err := net.LookupIP(host); err == nil {
		for _, ip := range addrs {
			if ip.To4() != nil {
				return ip.String()
			}
		}
	}
	return "127.0.0.1"
}

func listen(host string, port int) (net.Listener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	return ln, nil
}

// serve runs an HTTP server on ln until ctx ends, then shuts it down,
// giving open requests a few seconds.
func serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	// No WriteTimeout: event streams stay open for as long as their
	// subscriber does. Reading a request (a module upload included) is
	// bounded, and so are headers and idle connections.
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		// HTTP/2 without TLS (prior knowledge) beside HTTP/1.1, so that
		// many event streams can share one connection: a process that
		// hosts many agents (or frameworks) needs a descriptor per
		// connection, not per stream. HTTP/1.1 clients see no change.
		// 100 streams a connection, not more: Go's HTTP/2 server scans
		// every stream of a connection for each frame it writes, and at
		// 1,000 that scan was 40 % of a master's CPU (e2e/bench).
		Protocols: serverProtocols(),
		HTTP2:     &http.HTTP2Config{MaxConcurrentStreams: 100},
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// serverProtocols is the set of protocols the daemons serve: HTTP/1.1,
// and HTTP/2 in the clear or, on a TLS listener, negotiated by ALPN.
func serverProtocols() *http.Protocols {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetHTTP2(true)
	p.SetUnencryptedHTTP2(true)
	return p
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
