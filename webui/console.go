package webui

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Console is the web console: an http.Handler for the pages, the /events
// stream and the static files, and Run, which follows the master's event
// stream. It is safe for concurrent use.
type Console struct {
	cluster  Cluster
	cfg      Config
	log      *slog.Logger
	pages    *pages
	hub      *hub
	mux      *http.ServeMux
	csrf     *http.CrossOriginProtection // defence in depth beside the session's CSRF token
	sessions *sessions
	done     chan struct{} // closed when Run returns, ending /events streams
}

// New returns a console over cluster. Call Run to make it live; until
// then pages render and /events streams stay quiet.
func New(cluster Cluster, cfg Config) (*Console, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	c := &Console{
		cluster:  cluster,
		cfg:      cfg,
		log:      cfg.Logger.With("component", "webui"),
		pages:    p,
		hub:      newHub(),
		csrf:     http.NewCrossOriginProtection(),
		sessions: newSessions(cfg.SessionTTL, cfg.MaxSessions, cfg.MaxSessionsPerPrincipal),
		done:     make(chan struct{}),
	}
	c.routes()
	return c, nil
}

// Run follows the master's event stream until ctx ends, subscribing again
// after Config.Resubscribe whenever it breaks, and feeds the browsers'
// /events streams. When it returns, every /events stream ends. Call it
// once.
func (c *Console) Run(ctx context.Context) error {
	defer close(c.done)
	for {
		events, err := c.cluster.Subscribe(ctx)
		if err != nil {
			c.log.Warn("subscribe to the master's events", "err", err)
		} else {
			c.hub.follow(ctx, events, c.cfg.SampleEvery, c.cfg.History)
			c.hub.disconnected()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(c.cfg.Resubscribe):
		}
	}
}

// ServeHTTP serves the console.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mux.ServeHTTP(w, r)
}

func (c *Console) routes() {
	mux := http.NewServeMux()
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(fmt.Sprintf("webui: embedded static files: %v", err)) // cannot happen: the directory is embedded
	}
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	mux.HandleFunc("GET /events", c.serveEvents)
	get := func(pattern string, h handlerFunc) { mux.Handle("GET "+pattern, c.page(h)) }
	get("/{$}", c.overview)
	get("/agents", c.agentList)
	get("/agents/{id}", c.agentDetail)
	get("/frameworks", c.frameworkList)
	get("/frameworks/{id}", c.frameworkDetail)
	get("/tasks", c.taskList)
	get("/tasks/{framework}/{task}", c.taskDetail)
	get("/tasks/{framework}/{task}/files", c.taskFiles)
	get("/offers", c.offerList)
	get("/roles", c.roleList)
	get("/maintenance", c.maintenance)
	get("/modules", c.moduleList)
	mux.HandleFunc("GET /tasks/{framework}/{task}/tail", c.serveTail)
	mux.HandleFunc("GET /tasks/{framework}/{task}/download", c.serveDownload)
	mux.HandleFunc("GET /login", c.loginPage)
	mux.HandleFunc("POST /login", c.login)
	mux.Handle("POST /logout", c.action(c.logout))
	mux.Handle("POST /agents/{id}/drain", c.action(c.drain))
	mux.Handle("POST /agents/{id}/reactivate", c.action(c.reactivate))
	mux.Handle("POST /modules", c.action(c.upload))
	mux.Handle("POST /modules/{sha256}/delete", c.action(c.deleteModule))
	mux.Handle("POST /frameworks/{id}/teardown", c.action(c.teardown))
	mux.Handle("POST /tasks/{framework}/{task}/kill", c.action(c.killTask))
	mux.Handle("POST /roles/weight", c.action(c.setWeight))
	mux.Handle("POST /roles/quota", c.action(c.setQuota))
	mux.Handle("POST /maintenance/schedule", c.action(c.setSchedule))
	mux.Handle("/", c.page(func(*http.Request, Principal) (*view, error) {
		return nil, notFound("There is no page here.")
	}))
	c.mux = mux
}

// cacheStatic lets browsers keep the embedded files for a while: they
// change only with the binary.
func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		h.ServeHTTP(w, r)
	})
}
