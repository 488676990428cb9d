package load

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

// Config describes one load run. Master, Tasks and Task are required.
type Config struct {
	// Master is the master's HOST:PORT.
	Master string
	// Name names the framework; default "load".
	Name string
	// Tasks is how many tasks to launch.
	Tasks int
	// Task returns the i-th task's definition: its resources and its
	// command or container. Its ID and agent are set by Run.
	Task func(i int) api.TaskInfo
	// Until is the state that ends a task's part in the run once its
	// update is acknowledged: TASK_RUNNING for tasks that stay placed, or
	// TASK_FINISHED (any terminal state counts) for tasks that run to
	// completion.
	Until api.TaskState
	// MaxOutstanding, when positive, caps the tasks launched and not yet
	// done (per Until): 1 launches one task at a time, for latency.
	MaxOutstanding int
	// Launchers and Ackers are how many ACCEPT and ACKNOWLEDGE calls may
	// be in flight at once. Defaults 4 and 16.
	Launchers, Ackers int
	// Progress, if set, is called about every 200 ms with the counts so
	// far, from a goroutine of Run's.
	Progress func(Counts)
	// BeforeTeardown, if set, is called once every task is done and
	// before the framework is torn down, with the tasks still placed:
	// the moment to measure a loaded cluster.
	BeforeTeardown func()
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
}

// Counts are a run's tallies.
type Counts struct {
	// Launched, Running, Finished and Failed count tasks, each once.
	Launched, Running, Finished, Failed int64
	// Acknowledged counts ACKNOWLEDGE calls the master took, for
	// duplicate deliveries of an update too.
	Acknowledged int64
}

// Result is what a run measured.
type Result struct {
	Counts
	// Elapsed runs from the first offer to the last task done.
	Elapsed time.Duration
	// Latencies holds, per task that reached TASK_RUNNING, the time from
	// its ACCEPT call being sent to the update arriving, in task order.
	Latencies []time.Duration
	// FrameworkID is the framework the run subscribed as.
	FrameworkID string
}

// Rate is tasks done per second.
func (r Result) Rate(tasks int) float64 { return float64(tasks) / r.Elapsed.Seconds() }

// run is the state of one Run call.
type run struct {
	cfg    Config
	client *scheduler.Client

	mu       sync.Mutex
	cond     *sync.Cond
	offers   []api.Offer
	next     int // the next task to launch
	inFlight int // launched and not yet done
	stopped  bool

	acks     chan api.TaskStatus
	sent     []atomic.Int64 // per task: ACCEPT time in ns since start, 0 until sent
	running  []atomic.Int64 // per task: TASK_RUNNING time in ns since start
	doneTask []atomic.Bool
	ended    []atomic.Bool // a terminal update arrived
	doneN    atomic.Int64
	start    time.Time
	first    atomic.Int64 // first offer, ns since start
	counts   struct{ launched, running, finished, failed, acked atomic.Int64 }
	// ackBusy counts acknowledgements an acker has taken up and not yet
	// counted (or given up on).
	ackBusy  atomic.Int64
	done     chan struct{}
	doneOnce sync.Once
}

// Run launches cfg.Tasks tasks and returns when all are done (per
// cfg.Until), when ctx ends, or when the framework cannot go on. It
// tears the framework down before returning, killing what still runs; a
// failed teardown is only logged.
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Result{}, err
	}
	r := &run{
		cfg:      cfg,
		acks:     make(chan api.TaskStatus, 1<<16),
		sent:     make([]atomic.Int64, cfg.Tasks),
		running:  make([]atomic.Int64, cfg.Tasks),
		doneTask: make([]atomic.Bool, cfg.Tasks),
		ended:    make([]atomic.Bool, cfg.Tasks),
		start:    time.Now(),
		done:     make(chan struct{}),
	}
	r.cond = sync.NewCond(&r.mu)
	r.client = scheduler.New(scheduler.Config{
		Master:            cfg.Master,
		Framework:         api.FrameworkInfo{Name: cfg.Name},
		FailoverTimeout:   time.Hour,
		ManualAcknowledge: true,
		Logger:            cfg.Logger,
	})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	runErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		runErr <- r.client.Run(ctx, r.handle)
	}()
	r.startWorkers(ctx, &wg)
	var err2 error
	select {
	case <-r.done:
	case <-ctx.Done():
		err2 = fmt.Errorf("load %s: %w", cfg.Name, ctx.Err())
	case err := <-runErr:
		runErr <- err
		err2 = fmt.Errorf("load %s: framework ended: %w", cfg.Name, err)
	}
	// An acknowledgement the master took may still be on its way back to
	// the acker that counts it when the last task is done (the agent goes
	// on as soon as the master relays it): let those land first, for a
	// while; a call cut off is the agent's to send again.
	for deadline := time.Now().Add(10 * time.Second); r.ackBusy.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	res := r.result()
	r.stop()
	if err2 == nil && cfg.BeforeTeardown != nil {
		cfg.BeforeTeardown()
	}
	// A teardown that fails or times out (removing a framework with a
	// million tasks takes the master a while) does not void what was
	// measured: it is logged, and the master removes the framework anyway.
	tctx, tcancel := context.WithTimeout(context.Background(), 30*time.Second)
	if err := r.client.Teardown(tctx); err != nil && !errors.Is(err, scheduler.ErrNotConnected) {
		cfg.Logger.Warn("teardown", "framework", res.FrameworkID, "err", err)
	}
	tcancel()
	cancel()
	wg.Wait()
	return res, err2
}

func (c Config) withDefaults() (Config, error) {
	switch {
	case c.Master == "":
		return c, errors.New("load config: Master is required")
	case c.Tasks <= 0:
		return c, fmt.Errorf("load config: Tasks must be positive, got %d", c.Tasks)
	case c.Task == nil:
		return c, errors.New("load config: Task is required")
	case c.Until != api.TaskRunning && c.Until != api.TaskFinished:
		return c, fmt.Errorf("load config: Until must be TASK_RUNNING or TASK_FINISHED, got %q", c.Until)
	}
	if c.Name == "" {
		c.Name = "load"
	}
	if c.Launchers <= 0 {
		c.Launchers = 4
	}
	if c.Ackers <= 0 {
		c.Ackers = 16
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// startWorkers starts the launchers, the ackers and the progress ticker.
func (r *run) startWorkers(ctx context.Context, wg *sync.WaitGroup) {
	for range r.cfg.Launchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.launcher(ctx)
		}()
	}
	for range r.cfg.Ackers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.acker(ctx)
		}()
	}
	if r.cfg.Progress != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(200 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					r.cfg.Progress(r.snapshot())
				}
			}
		}()
	}
}

// stop wakes and ends the launchers.
func (r *run) stop() {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
	r.cond.Broadcast()
}

func (r *run) snapshot() Counts {
	return Counts{Launched: r.counts.launched.Load(), Running: r.counts.running.Load(),
		Finished: r.counts.finished.Load(), Failed: r.counts.failed.Load(), Acknowledged: r.counts.acked.Load()}
}

func (r *run) result() Result {
	res := Result{Counts: r.snapshot(), FrameworkID: r.client.FrameworkID()}
	res.Elapsed = time.Since(r.start) - time.Duration(r.first.Load())
	for i := range r.sent {
		s, t := r.sent[i].Load(), r.running[i].Load()
		if s > 0 && t > 0 {
			res.Latencies = append(res.Latencies, time.Duration(t-s))
		}
	}
	return res
}

// since is the time since the run started, never 0.
func (r *run) since() int64 { return max(int64(time.Since(r.start)), 1) }

// handle is the framework's event handler: it only hands work over, so
// that it keeps up with the stream.
func (r *run) handle(ctx context.Context, ev *api.Event) error {
	switch ev.Type {
	case api.EventOffers:
		r.first.CompareAndSwap(0, r.since())
		r.mu.Lock()
		r.offers = append(r.offers, ev.Offers.Offers...)
		r.mu.Unlock()
		r.cond.Broadcast()
	case api.EventUpdate:
		r.update(ev.Update.Status)
	case api.EventSubscribed:
		r.mu.Lock()
		r.offers = nil // offers of an earlier subscription are void
		r.mu.Unlock()
	}
	return nil
}

// update tallies a status update and queues its acknowledgement.
func (r *run) update(st api.TaskStatus) {
	now := r.since()
	if i, ok := taskIndex(st.TaskID.Value, r.cfg.Tasks); ok {
		switch {
		case st.State == api.TaskRunning:
			if r.running[i].CompareAndSwap(0, now) {
				r.counts.running.Add(1)
			}
		case st.State.IsTerminal() && r.cfg.Until != api.TaskRunning && r.ended[i].CompareAndSwap(false, true):
			// Updates arrive at least once: count each task's end once.
			if st.State == api.TaskFinished {
				r.counts.finished.Add(1)
			} else {
				r.counts.failed.Add(1)
				r.cfg.Logger.Warn("task ended badly", "task", st.TaskID.Value, "state", st.State, "reason", st.Reason, "message", st.Message)
			}
			if len(st.UUID) == 0 {
				r.taskDone(i)
			}
		}
	}
	if len(st.UUID) > 0 {
		r.acks <- st
	}
}

// taskDone records that task i played its part, once.
func (r *run) taskDone(i int) {
	if !r.doneTask[i].CompareAndSwap(false, true) {
		return
	}
	r.mu.Lock()
	r.inFlight--
	r.mu.Unlock()
	r.cond.Broadcast()
	if r.doneN.Add(1) == int64(r.cfg.Tasks) {
		r.doneOnce.Do(func() { close(r.done) })
	}
}

// acker acknowledges updates until ctx ends.
func (r *run) acker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case st := <-r.acks:
			r.ackBusy.Add(1)
			r.acknowledge(ctx, st)
			r.ackBusy.Add(-1)
		}
	}
}

// acknowledge acknowledges one update and counts it.
func (r *run) acknowledge(ctx context.Context, st api.TaskStatus) {
	agent := ""
	if st.AgentID != nil {
		agent = st.AgentID.Value
	}
	if err := r.client.Acknowledge(ctx, agent, st.TaskID.Value, st.UUID); err != nil {
		r.cfg.Logger.Debug("acknowledge", "task", st.TaskID.Value, "err", err)
		return // the agent sends it again
	}
	r.counts.acked.Add(1)
	// A task is done once the update that ends its part is acknowledged:
	// until then the agent may send it again, so the window of tasks in
	// flight must still count it.
	if i, ok := taskIndex(st.TaskID.Value, r.cfg.Tasks); ok {
		switch {
		case r.cfg.Until == api.TaskRunning && st.State == api.TaskRunning,
			r.cfg.Until != api.TaskRunning && st.State.IsTerminal():
			r.taskDone(i)
		}
	}
}

// taskID and taskIndex name task i of a run.
func taskID(i int) string { return "t" + strconv.Itoa(i) }

func taskIndex(id string, n int) (int, bool) {
	if !strings.HasPrefix(id, "t") {
		return 0, false
	}
	i, err := strconv.Atoi(id[1:])
	return i, err == nil && i >= 0 && i < n
}
