package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/google/renameio/v2"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

func main() {
	master := flag.String("master", "127.0.0.1:5050", "the masters, HOST:PORT[,HOST:PORT...]: any of them; the client follows the leader")
	instances := flag.Int("instances", 1, "how many copies of the command to run")
	cpus := flag.Float64("cpus", 0.1, "CPUs per task")
	mem := flag.Float64("mem", 32, "memory per task, in MB")
	statePath := flag.String("state", "", "keep the framework ID and the tasks in this file, so that a run stopped and started again with it carries on where it was (removed when the run ends)")
	flag.Parse()
	command := strings.Join(flag.Args(), " ")
	if command == "" || *instances < 1 {
		fmt.Fprintln(os.Stderr, "usage: execute [--master H:P] [--instances N] [--state FILE] -- COMMAND")
		os.Exit(2)
	}
	st, err := loadState(*statePath, *instances)
	if err != nil {
		fmt.Fprintln(os.Stderr, "execute:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	failed, err := run(ctx, *master, command, st, *cpus, *mem)
	if err != nil {
		fmt.Fprintln(os.Stderr, "execute:", err)
		os.Exit(1)
	}
	if failed > 0 {
		os.Exit(1)
	}
}

// state is what a run is: its framework, and what became of each of
// its instances. With --state it is saved after every change, before the
// update that caused it is acknowledged, so that a run started again with
// the file neither loses a task nor runs one twice.
type state struct {
	path        string
	FrameworkID string `json:"framework_id,omitempty"`
	// Instances holds each instance, by name (execute-0, execute-1, ...).
	Instances map[string]*instance `json:"instances"`
}

// instance is one copy of the command: the task that runs it now, and
// how many tasks were launched for it.
type instance struct {
	TaskID  string `json:"task_id,omitempty"` // launched and not given up on
	Running bool   `json:"running,omitempty"`
	Tries   int    `json:"tries,omitempty"`
	State   string `json:"state,omitempty"` // the final state, once ended
}

// loadState reads the state a stopped run left in path, or starts one.
func loadState(path string, n int) (*state, error) {
	st := &state{path: path, Instances: map[string]*instance{}}
	for i := range n {
		st.Instances[fmt.Sprintf("execute-%d", i)] = &instance{}
	}
	if path == "" {
		return st, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	saved := &state{}
	if err := json.Unmarshal(data, saved); err != nil {
		return nil, fmt.Errorf("state %s: %w (remove it to start afresh)", path, err)
	}
	if len(saved.Instances) != n {
		return nil, fmt.Errorf("state %s is a run of %d instances, not %d (remove it to start afresh)", path, len(saved.Instances), n)
	}
	for name, in := range saved.Instances {
		if st.Instances[name] == nil || in == nil {
			return nil, fmt.Errorf("state %s: unexpected instance %q (remove it to start afresh)", path, name)
		}
	}
	saved.path = path
	return saved, nil
}

// save writes the state, atomically, when the run keeps one.
func (st *state) save() error {
	if st.path == "" {
		return nil
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := renameio.WriteFile(st.path, data, 0o644); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// counts returns how many instances ended, how many of those failed, and
// how many have a task launched.
func (st *state) counts() (ended, failed, launched int) {
	for _, in := range st.Instances {
		switch {
		case in.State != "":
			ended++
			if in.State != string(api.TaskFinished) {
				failed++
			}
		case in.TaskID != "":
			launched++
		}
	}
	return ended, failed, launched
}

// errDone ends the event loop once every task has ended and the
// framework has torn itself down.
var errDone = errors.New("all tasks ended")

// run launches the tasks and returns how many did not finish successfully.
func run(ctx context.Context, master, command string, st *state, cpus, mem float64) (failed int, err error) {
	cfg := scheduler.Config{
		Masters: strings.Split(master, ","),
		// Long enough to follow a new leader when the old one dies, or
		// for the run to be started again with its --state (a framework
		// without one is removed, its tasks killed, once its stream
		// breaks); the run tears itself down when it is done.
		FailoverTimeout: time.Minute,
		Framework:       api.FrameworkInfo{Name: "execute"},
	}
	if st.FrameworkID != "" {
		cfg.Framework.ID = &api.FrameworkID{Value: st.FrameworkID}
		ended, _, launched := st.counts()
		fmt.Fprintf(os.Stderr, "execute: carrying on as framework %s: %d tasks ended, %d launched\n", st.FrameworkID, ended, launched)
	}
	// Credentials and TLS as the mezzo CLI takes them (MEZZO_PRINCIPAL,
	// MEZZO_SECRET_FILE, MEZZO_TLS_CA, ...).
	if err := cfg.FromEnv(os.Getenv); err != nil {
		return 0, err
	}
	client := scheduler.New(cfg)
	per := api.Resources{api.ScalarResource("cpus", cpus), api.ScalarResource("mem", mem)}
	// task is the next task of an instance: the first is named after it,
	// later ones (after a launch that never ran) get a suffix, since the
	// master refuses a task ID it still holds.
	task := func(name string) api.TaskInfo {
		id := name
		if tries := st.Instances[name].Tries; tries > 0 {
			id = fmt.Sprintf("%s.%d", name, tries)
		}
		return scheduler.CommandTask(id, name, "", command, per)
	}
	var queue []api.TaskInfo
	for i := range len(st.Instances) {
		name := fmt.Sprintf("execute-%d", i)
		if in := st.Instances[name]; in.State == "" && in.TaskID == "" {
			queue = append(queue, task(name))
		}
	}
	// warn reports a call that failed without ending the run: a master
	// that dies mid-call is followed by the next subscription, whose
	// reconciliation settles the tasks. Returning the error would end Run.
	warn := func(what string, err error) {
		if err != nil {
			fmt.Fprintf(os.Stderr, "execute: %s: %v\n", what, err)
		}
	}

	err = client.Run(ctx, func(ctx context.Context, ev *api.Event) error {
		switch ev.Type {
		case api.EventSubscribed:
			if st.FrameworkID != ev.Subscribed.FrameworkID.Value {
				st.FrameworkID = ev.Subscribed.FrameworkID.Value
				return st.save()
			}
			// Subscribed again (a restarted run, or a new leader): ask
			// after the tasks launched before, which this client may not
			// have launched and so would not reconcile on its own.
			var tasks []api.ReconcileTask
			for _, in := range st.Instances {
				if in.TaskID != "" && in.State == "" {
					tasks = append(tasks, api.ReconcileTask{TaskID: api.TaskID{Value: in.TaskID}})
				}
			}
			if len(tasks) > 0 {
				warn("reconcile", client.Reconcile(ctx, tasks...))
			}
		case api.EventOffers:
			for _, offer := range ev.Offers.Offers {
				// Pack fills the offer from the queue with tasks that fit.
				var launch []api.TaskInfo
				launch, queue = scheduler.Pack(offer, queue)
				if len(launch) == 0 {
					warn("decline", client.Decline(ctx, 5, offer.ID))
					continue
				}
				for _, t := range launch {
					in := st.Instances[t.Name]
					in.TaskID, in.Running = t.TaskID.Value, false
					in.Tries++
				}
				// Saved before the launch: a run stopped in between asks
				// the master about these tasks when it starts again.
				if err := st.save(); err != nil {
					return err
				}
				warn("launch", client.Launch(ctx, offer.ID, launch...))
			}
			if len(queue) == 0 {
				warn("suppress", client.Suppress(ctx)) // nothing left to place
			}
		case api.EventUpdate:
			return update(ctx, client, st, ev.Update.Status, func(name string) {
				queue = append(queue, task(name))
				warn("revive", client.Revive(ctx))
			}, warn)
		}
		return nil
	})
	ended, failed, _ := st.counts()
	if ended == len(st.Instances) && (err == nil || errors.Is(err, errDone)) {
		return failed, nil // Run ends with nil after a teardown
	}
	if err == nil {
		err = ctx.Err()
	}
	return failed, err
}

// update follows a task's status, calling requeue for an instance whose
// task never ran; it returns errDone once the last instance has ended.
func update(ctx context.Context, client *scheduler.Client, st *state, s api.TaskStatus, requeue func(name string), warn func(string, error)) error {
	id := s.TaskID.Value
	name, _, _ := strings.Cut(id, ".")
	in := st.Instances[name]
	if in == nil || in.TaskID != id || in.State != "" {
		return nil // updates come at least once: a master that failed over sends again those it had not seen acknowledged
	}
	switch {
	case !in.Running && (s.State == api.TaskLost || s.State == api.TaskDropped || s.State == api.TaskUnknown):
		// It never ran (its launch died with a master, or never reached
		// one): again, under a new ID.
		in.TaskID = ""
		requeue(name)
		return st.save()
	case s.State == api.TaskRunning:
		if in.Running {
			return nil
		}
		in.Running = true
		return st.save()
	case !s.State.IsTerminal() && s.State != api.TaskUnknown:
		return nil
	}
	// Ended, or unknown to the master after it ran: nothing more will come.
	in.State = string(s.State)
	fmt.Printf("%s %s %s\n", id, s.State, s.Message)
	if ended, _, _ := st.counts(); ended < len(st.Instances) {
		return st.save()
	}
	// Done: the state has served; then leave. Tearing down removes the
	// framework at once, so the master need not wait out a failover
	// timeout.
	if st.path != "" {
		warn("remove state", os.Remove(st.path))
	}
	warn("teardown", client.Teardown(ctx))
	return errDone
}
