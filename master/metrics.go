package master

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mezzo-cluster/mezzo/api"
)

// metrics are the master's Prometheus metrics. Counters and the histogram
// are updated as things happen; gauges are read from the state at scrape
// time by stateCollector, so they cost nothing between scrapes.
type metrics struct {
	registry   *prometheus.Registry
	offers     *prometheus.CounterVec // by outcome: made, accepted, declined, rescinded
	calls      *prometheus.CounterVec // by API, call type and HTTP status
	terminal   *prometheus.CounterVec // tasks reaching a terminal state, by state
	allocation prometheus.Histogram
	// registryWrites counts raft entries the master committed.
	registryWrites prometheus.Counter
	// removalsRefused counts agents not marked unreachable because of the
	// agent removal limit.
	removalsRefused prometheus.Counter
	// authFailures and authzDenials count requests refused with 401 and
	// 403: a rise means a misconfigured client, or someone probing.
	authFailures prometheus.Counter
	authzDenials prometheus.Counter
}

func newMetrics(m *Master) *metrics {
	x := &metrics{
		registry: prometheus.NewRegistry(),
		offers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mezzo_offers_total", Help: "Offers by outcome: made, accepted, declined, rescinded.",
		}, []string{"outcome"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mezzo_api_calls_total", Help: "API calls by API, call type and HTTP status.",
		}, []string{"api", "type", "code"}),
		terminal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mezzo_tasks_terminal_total", Help: "Tasks that reached a terminal state, by state.",
		}, []string{"state"}),
		allocation: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mezzo_allocation_pass_seconds",
			Help:    "Duration of allocation passes.",
			Buckets: prometheus.ExponentialBuckets(1e-5, 4, 10),
		}),
		registryWrites: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mezzo_registry_writes_total", Help: "Entries this master committed to the replicated registry.",
		}),
		removalsRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mezzo_agent_removals_refused_total", Help: "Agents not marked unreachable because the agent removal limit was reached.",
		}),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mezzo_authentication_failures_total", Help: "Requests refused for missing or wrong credentials (401).",
		}),
		authzDenials: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mezzo_authorization_denials_total", Help: "Requests the ACLs refused (403).",
		}),
	}
	x.registry.MustRegister(x.offers, x.calls, x.terminal, x.allocation, x.registryWrites, x.removalsRefused,
		x.authFailures, x.authzDenials, &stateCollector{m: m})
	// Every outcome and terminal state is there from the start, at 0, so
	// that rate() and alerts see a series before its first event.
	for _, outcome := range []string{"made", "accepted", "declined", "rescinded"} {
		x.offers.WithLabelValues(outcome)
	}
	for _, s := range []api.TaskState{api.TaskFinished, api.TaskFailed, api.TaskKilled, api.TaskError,
		api.TaskLost, api.TaskDropped, api.TaskGone, api.TaskGoneByOperator} {
		x.terminal.WithLabelValues(string(s))
	}
	return x
}

// liveStates are the states mezzo_tasks always reports, at 0 when no task
// is in them.
var liveStates = [...]api.TaskState{api.TaskStaging, api.TaskStarting, api.TaskRunning, api.TaskKilling, api.TaskUnreachable}

func (x *metrics) observeAllocation(start time.Time) {
	x.allocation.Observe(time.Since(start).Seconds())
}

var (
	agentsDesc    = prometheus.NewDesc("mezzo_agents", "Agents by state.", []string{"state"}, nil)
	frameworksDsc = prometheus.NewDesc("mezzo_frameworks", "Frameworks by state.", []string{"state"}, nil)
	tasksDesc     = prometheus.NewDesc("mezzo_tasks", "Tasks the master tracks, by state.", []string{"state"}, nil)
	resourcesDesc = prometheus.NewDesc("mezzo_resources", "Scalar resources by name and kind: total, used, offered.", []string{"resource", "kind"}, nil)
	offersDesc    = prometheus.NewDesc("mezzo_offers_outstanding", "Offers made and not yet answered.", nil, nil)
	queueDesc     = prometheus.NewDesc("mezzo_event_queue_depth", "Events queued to subscribers, by kind of subscriber.", []string{"subscriber"}, nil)
	electedDesc   = prometheus.NewDesc("mezzo_master_elected", "1 if this master is the leader.", nil, nil)
)

// scalarNames are the resources mezzo_resources reports.
var scalarNames = [...]string{"cpus", "mem", "disk", "gpus"}

// stateCollector reads gauges from the master's state at scrape time.
type stateCollector struct{ m *Master }

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{agentsDesc, frameworksDsc, tasksDesc, resourcesDesc, offersDesc, queueDesc, electedDesc} {
		ch <- d
	}
}

// Collect takes Master.mu: it must not be called with the lock held.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.m
	m.mu.Lock()
	defer m.mu.Unlock()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	agents := map[string]float64{"active": 0, "disconnected": 0, "unreachable": 0, "deactivated": 0}
	// Summed as plain scalars, not with Resources.Plus: a scrape walks
	// every agent with m.mu held, and with tens of thousands of agents
	// the resource arithmetic made each scrape stall the master for most
	// of a second (e2e/bench -profile).
	var total, used, offered [len(scalarNames)]float64
	for _, a := range m.agents {
		agents[a.stateName()]++
		for i, name := range scalarNames {
			total[i] += a.total.ScalarValue(name)
			used[i] += a.used.ScalarValue(name)
			offered[i] += a.offered.ScalarValue(name)
		}
	}
	for s, n := range agents {
		gauge(agentsDesc, n, s)
	}
	frameworks := map[string]float64{"connected": 0, "disconnected": 0, "completed": float64(len(m.completed))}
	tasks := map[api.TaskState]float64{}
	for _, s := range liveStates {
		tasks[s] = 0
	}
	frameworkQueue := 0
	for _, f := range m.frameworks {
		if f.connected() {
			frameworks["connected"]++
			frameworkQueue += f.stream.queued()
		} else {
			frameworks["disconnected"]++
		}
		for _, t := range f.tasks {
			tasks[t.state]++
		}
	}
	for s, n := range frameworks {
		gauge(frameworksDsc, n, s)
	}
	for s, n := range tasks {
		gauge(tasksDesc, n, string(s))
	}
	for i, name := range scalarNames {
		gauge(resourcesDesc, total[i], name, "total")
		gauge(resourcesDesc, used[i], name, "used")
		gauge(resourcesDesc, offered[i], name, "offered")
	}
	gauge(offersDesc, float64(len(m.offers)))
	agentQueue, watcherQueue := 0, 0
	for _, a := range m.agents {
		if a.stream != nil {
			agentQueue += a.stream.queued()
		}
	}
	for _, s := range m.watchers {
		watcherQueue += s.queued()
	}
	gauge(queueDesc, float64(frameworkQueue), "framework")
	gauge(queueDesc, float64(agentQueue), "agent")
	gauge(queueDesc, float64(watcherQueue), "operator")
	elected := 0.0
	if m.Leading() {
		elected = 1
	}
	gauge(electedDesc, elected)
}
