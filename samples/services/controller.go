package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/renameio/v2"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

// Instance states.
const (
	instStaging = "staging" // launched, not yet running
	instRunning = "running"
	instKilling = "killing" // asked to stop; gone at its terminal update
)

// Instance is one task of an app.
type Instance struct {
	TaskID     string          `json:"task_id"`
	App        string          `json:"app"`
	Version    int             `json:"version"`
	AgentID    string          `json:"agent_id"`
	Hostname   string          `json:"hostname"`
	Attributes []api.Attribute `json:"attributes,omitempty"`
	State      string          `json:"state"`
	Healthy    bool            `json:"healthy"`
	Launched   time.Time       `json:"launched"`
	KillSent   time.Time       `json:"kill_sent,omitzero"`
}

// appState is an app with what the framework tracks about it.
type appState struct {
	App App `json:"app"`
	// Version changes with every change but a scale, and with a restart:
	// instances of an older version are replaced, rolling.
	Version int `json:"version"`
	// Failures counts instances that ended on their own since the app
	// last had a healthy instance; each doubles the wait before the next
	// launch (Backoff, up to maxBackoff), as Marathon backs off.
	Failures  int           `json:"failures"`
	Backoff   time.Duration `json:"backoff"`
	NotBefore time.Time     `json:"not_before,omitzero"`
	// Waiting says why instances the app needs are not placed, if they
	// are not.
	Waiting string `json:"waiting,omitempty"`
	// Launches counts every task launched for the app.
	Launches int `json:"launches"`
}

const (
	minBackoff = time.Second
	maxBackoff = time.Minute
	// killRetry is how long a kill may go unanswered before it is sent
	// again.
	killRetry = 10 * time.Second
)

// state is what the framework keeps across its own restarts.
type state struct {
	FrameworkID string               `json:"framework_id,omitempty"`
	Apps        map[string]*appState `json:"apps"`
	Instances   map[string]*Instance `json:"instances"` // by task ID
	NextTask    int                  `json:"next_task"`
}

func loadState(path string) (*state, error) {
	s := &state{Apps: map[string]*appState{}, Instances: map[string]*Instance{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load state: %w", err)
	}
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("load state %s: %w", path, err)
	}
	if s.Apps == nil {
		s.Apps = map[string]*appState{}
	}
	if s.Instances == nil {
		s.Instances = map[string]*Instance{}
	}
	return s, nil
}

// controller keeps every app at its instance count, replaces instances
// that fail, rolls restarts and places instances by their constraints.
// Its state changes under mu and is saved after every change, before any
// call that acts on it.
type controller struct {
	path   string
	client *scheduler.Client
	log    *slog.Logger
	wake   chan struct{} // capacity 1: something changed

	mu sync.Mutex
	st *state
}

func newController(path string, st *state, log *slog.Logger) *controller {
	return &controller{path: path, st: st, log: log, wake: make(chan struct{}, 1)}
}

func (c *controller) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// saveLocked writes the state (renameio: never half a file); c.mu must
// be held.
func (c *controller) saveLocked() {
	data, err := json.MarshalIndent(c.st, "", "  ")
	if err == nil {
		err = renameio.WriteFile(c.path, data, 0o644)
	}
	if err != nil {
		c.log.Error("save state", "err", err)
	}
}

// errNotFound is returned for an app that does not exist.
var errNotFound = errors.New("no such app")

// put creates apps or changes them. A change of anything but the
// instance count is a new version, rolled out by replacing instances.
func (c *controller) put(apps ...App) error {
	for i := range apps {
		if _, err := apps[i].validate(); err != nil {
			return err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range apps {
		as := c.st.Apps[a.ID]
		switch {
		case as == nil:
			c.st.Apps[a.ID] = &appState{App: a, Version: 1}
		default:
			scaled := as.App
			scaled.Instances = a.Instances
			if !sameApp(scaled, a) {
				as.Version++
			}
			as.App = a
		}
	}
	c.saveLocked()
	c.poke()
	return nil
}

func sameApp(a, b App) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// restart rolls every instance of an app over to fresh ones.
func (c *controller) restart(id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	as := c.st.Apps[id]
	if as == nil {
		return fmt.Errorf("app %s: %w", id, errNotFound)
	}
	as.Version++
	c.saveLocked()
	c.poke()
	return nil
}

// remove deletes an app; its instances are killed.
func (c *controller) remove(id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st.Apps[id] == nil {
		return fmt.Errorf("app %s: %w", id, errNotFound)
	}
	delete(c.st.Apps, id)
	c.saveLocked()
	c.poke()
	return nil
}

// instancesOf returns an app's instances, oldest first.
func (c *controller) instancesOf(id string) []*Instance {
	var out []*Instance
	for _, in := range c.st.Instances {
		if in.App == id {
			out = append(out, in)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Launched.Equal(out[j].Launched) {
			return out[i].Launched.Before(out[j].Launched)
		}
		return out[i].TaskID < out[j].TaskID
	})
	return out
}

// healthy reports whether an instance counts toward the app's capacity.
func (as *appState) healthy(in *Instance) bool {
	return in.State == instRunning && (as.App.HealthCheck == nil || in.Healthy)
}

// plan decides, for one app, how many instances to launch and which to
// kill, from its definition and its instances (oldest first):
//
//   - with no old version running, it scales: launch up to Instances,
//     kill the surplus (unhealthy ones first, then the newest);
//   - during a rolling restart, new instances start while the total
//     stays within Instances·(1+MaximumOverCapacity), and old ones stop
//     — the unhealthy at once, the healthy only while at least
//     Instances·MinimumHealthCapacity instances stay healthy.
//
// It is pure, for the tests.
func plan(as *appState, insts []*Instance) (launch int, kill []*Instance) {
	var cur, old []*Instance
	for _, in := range insts {
		switch {
		case in.State == instKilling:
		case in.Version == as.Version:
			cur = append(cur, in)
		default:
			old = append(old, in)
		}
	}
	n := as.App.Instances
	if len(old) == 0 {
		if len(cur) > n {
			surplus := slices.Clone(cur)
			// Unhealthy first, then newest first.
			sort.SliceStable(surplus, func(i, j int) bool {
				hi, hj := as.healthy(surplus[i]), as.healthy(surplus[j])
				if hi != hj {
					return !hi
				}
				return surplus[i].Launched.After(surplus[j].Launched)
			})
			return 0, surplus[:len(cur)-n]
		}
		return n - len(cur), nil
	}
	minHealth, over := as.App.capacities()
	minHealthy := int(math.Ceil(minHealth * float64(n)))
	maxTotal := n + int(math.Floor(over*float64(n)))
	healthy := 0
	for _, in := range append(slices.Clone(cur), old...) {
		if as.healthy(in) {
			healthy++
		}
	}
	for _, in := range old {
		if !as.healthy(in) {
			kill = append(kill, in)
		}
	}
	for _, in := range old {
		if as.healthy(in) && healthy-1 >= minHealthy {
			kill = append(kill, in)
			healthy--
		}
	}
	total := len(cur) + len(old) - len(kill)
	launch = max(0, min(n-len(cur), maxTotal-total))
	return launch, kill
}

// step applies the plans: kills are sent, and it reports whether any app
// needs a launch (so the framework wants offers).
func (c *controller) step(ctx context.Context, now time.Time) (wantOffers bool) {
	type killCall struct{ task, agent string }
	var kills []killCall
	c.mu.Lock()
	for _, in := range c.st.Instances {
		as := c.st.Apps[in.App]
		switch {
		case as == nil && in.State != instKilling:
			in.State = instKilling // its app was removed
		case in.State == instKilling && now.Sub(in.KillSent) < killRetry:
			continue
		case in.State != instKilling:
			continue
		}
		in.KillSent = now
		kills = append(kills, killCall{in.TaskID, in.AgentID})
	}
	for id, as := range c.st.Apps {
		launch, kill := plan(as, c.instancesOf(id))
		for _, in := range kill {
			in.State, in.KillSent = instKilling, now
			kills = append(kills, killCall{in.TaskID, in.AgentID})
		}
		if launch > 0 && !now.Before(as.NotBefore) {
			wantOffers = true
		}
		if launch == 0 {
			as.Waiting = ""
		}
	}
	if len(kills) > 0 {
		c.saveLocked()
	}
	c.mu.Unlock()
	for _, k := range kills {
		if err := c.client.Kill(ctx, k.task, k.agent); err != nil {
			c.log.Warn("kill", "task", k.task, "err", err) // sent again after killRetry
		}
	}
	return wantOffers
}

// match picks, for one offer, the instances to launch on it: apps in ID
// order, each as many as it needs, fits and its constraints allow.
func (c *controller) match(offer api.Offer, now time.Time) []api.TaskInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	left := api.Resources(offer.Resources)
	var launch []api.TaskInfo
	ids := make([]string, 0, len(c.st.Apps))
	for id := range c.st.Apps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		as := c.st.Apps[id]
		need, _ := plan(as, c.instancesOf(id))
		if need == 0 || now.Before(as.NotBefore) {
			continue
		}
		cs, _ := as.App.validate() // validated when put
		for ; need > 0; need-- {
			if why := c.refusesLocked(as, cs, offer); why != "" {
				as.Waiting = why
				break
			}
			taken, ok := scheduler.Take(left, as.App.resources())
			if !ok {
				as.Waiting = "no offer has room for an instance"
				break
			}
			left = left.Minus(taken)
			c.st.NextTask++
			in := &Instance{
				TaskID: fmt.Sprintf("%s.%d.%d", id, as.Version, c.st.NextTask), App: id, Version: as.Version,
				AgentID: offer.AgentID.Value, Hostname: offer.Hostname, Attributes: offer.Attributes,
				State: instStaging, Launched: now,
			}
			c.st.Instances[in.TaskID] = in
			as.Launches++
			as.Waiting = ""
			launch = append(launch, c.taskLocked(as, in, taken))
		}
	}
	if len(launch) > 0 {
		c.saveLocked() // before ACCEPT: a restart must know these tasks may run
	}
	return launch
}

// refusesLocked says which constraint keeps an instance of the app off
// the offer's agent, or "" if none does.
func (c *controller) refusesLocked(as *appState, cs []constraint, offer api.Offer) string {
	for _, con := range cs {
		v, ok := fieldOf(con.field, offer.Hostname, offer.Attributes)
		var others []string
		for _, in := range c.instancesOf(as.App.ID) {
			if in.State == instKilling {
				continue
			}
			if ov, ok := fieldOf(con.field, in.Hostname, in.Attributes); ok {
				others = append(others, ov)
			}
		}
		if !con.allows(v, ok, others) {
			return "constraint " + con.String() + " rules out the offered agents"
		}
	}
	return ""
}

func (c *controller) taskLocked(as *appState, in *Instance, res api.Resources) api.TaskInfo {
	var t api.TaskInfo
	if as.App.Module != "" {
		t = scheduler.WasmTask(in.TaskID, as.App.ID, in.AgentID, as.App.Module, as.App.Args, nil)
	} else {
		t = scheduler.CommandTask(in.TaskID, as.App.ID, in.AgentID, as.App.Command, nil)
	}
	t.Resources = res
	t.HealthCheck = as.App.HealthCheck
	return t
}

// update records what a status says about an instance.
func (c *controller) update(st api.TaskStatus, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.poke()
	in := c.st.Instances[st.TaskID.Value]
	if in == nil {
		if !st.State.IsTerminal() {
			// Not ours any more (its app was removed while we were
			// away, say): stop it.
			agent := ""
			if st.AgentID != nil {
				agent = st.AgentID.Value
			}
			c.st.Instances[st.TaskID.Value] = &Instance{TaskID: st.TaskID.Value, AgentID: agent, State: instKilling}
			c.saveLocked()
		}
		return
	}
	as := c.st.Apps[in.App]
	if !st.State.IsTerminal() {
		if st.State == api.TaskRunning && in.State == instStaging {
			in.State = instRunning
		}
		if st.Healthy != nil {
			in.Healthy = *st.Healthy
		}
		if as != nil && as.healthy(in) {
			as.Failures, as.Backoff, as.NotBefore = 0, 0, time.Time{}
		}
		c.saveLocked()
		return
	}
	delete(c.st.Instances, in.TaskID)
	unasked := in.State != instKilling
	neverLaunched := in.State == instStaging && st.Reason == api.ReasonReconciliation
	if as != nil && unasked && !neverLaunched {
		as.Failures++
		as.Backoff = min(maxBackoff, minBackoff<<min(as.Failures-1, 10))
		as.NotBefore = now.Add(as.Backoff)
		c.log.Info("instance ended", "task", in.TaskID, "state", st.State, "reason", st.Reason, "message", st.Message,
			"backoff", as.Backoff)
	}
	c.saveLocked()
}

// reconcile asks for the state of every instance, so that what happened
// while the framework was away is settled.
func (c *controller) reconcile(ctx context.Context) error {
	c.mu.Lock()
	var tasks []api.ReconcileTask
	for _, in := range c.st.Instances {
		rt := api.ReconcileTask{TaskID: api.TaskID{Value: in.TaskID}}
		if in.AgentID != "" {
			rt.AgentID = &api.AgentID{Value: in.AgentID}
		}
		tasks = append(tasks, rt)
	}
	c.mu.Unlock()
	if len(tasks) == 0 {
		return nil
	}
	return c.client.Reconcile(ctx, tasks...)
}

// loop runs the plans whenever something changes, and every half second
// for backoffs and kill retries; it keeps offers coming exactly while
// some app needs a launch.
func (c *controller) loop(ctx context.Context) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	suppressed := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		case <-tick.C:
		}
		want := c.step(ctx, time.Now())
		var err error
		switch {
		case want && suppressed:
			err = c.client.Revive(ctx)
		case !want && !suppressed:
			err = c.client.Suppress(ctx)
		default:
			continue
		}
		if err != nil {
			c.log.Debug("steer offers", "err", err) // not subscribed; tried again next round
			continue
		}
		suppressed = !want
	}
}

// run drives the framework until ctx ends.
func (c *controller) run(ctx context.Context, master string, failover time.Duration) error {
	c.mu.Lock()
	info := api.FrameworkInfo{Name: "services"}
	if c.st.FrameworkID != "" {
		info.ID = &api.FrameworkID{Value: c.st.FrameworkID}
	}
	c.mu.Unlock()
	cfg := scheduler.Config{
		Masters: strings.Split(master, ","), Framework: info, FailoverTimeout: failover, Logger: c.log,
		Disconnected: func(error) { c.poke() },
	}
	if err := cfg.FromEnv(os.Getenv); err != nil { // credentials and TLS as the mezzo CLI takes them
		return err
	}
	c.client = scheduler.New(cfg)
	go c.loop(ctx)
	return c.client.Run(ctx, func(ctx context.Context, ev *api.Event) error {
		switch ev.Type {
		case api.EventSubscribed:
			c.mu.Lock()
			if id := ev.Subscribed.FrameworkID.Value; c.st.FrameworkID != id {
				c.st.FrameworkID = id
				c.saveLocked()
			}
			c.mu.Unlock()
			c.poke()
			if err := c.reconcile(ctx); err != nil {
				c.log.Warn("reconcile", "err", err) // the SDK reconciles implicitly too; the next subscription asks again
			}
		case api.EventOffers:
			now := time.Now()
			for _, offer := range ev.Offers.Offers {
				launch := c.match(offer, now)
				if len(launch) == 0 {
					if err := c.client.Decline(ctx, 1, offer.ID); err != nil {
						c.log.Warn("decline", "err", err)
					}
					continue
				}
				if err := c.client.Launch(ctx, offer.ID, launch...); err != nil {
					// The master may have died mid-call: the next
					// subscription's reconciliation settles these
					// instances. Returning the error would end the
					// framework (the SDK's Run stops on a handler's
					// error).
					c.log.Warn("launch", "instances", len(launch), "err", err)
				}
			}
			c.poke()
		case api.EventUpdate:
			c.update(ev.Update.Status, time.Now())
		}
		return nil
	})
}
