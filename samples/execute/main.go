package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

func main() {
	master := flag.String("master", "127.0.0.1:5050", "the masters, HOST:PORT[,HOST:PORT...]: any of them; the client follows the leader")
	instances := flag.Int("instances", 1, "how many copies of the command to run")
	cpus := flag.Float64("cpus", 0.1, "CPUs per task")
	mem := flag.Float64("mem", 32, "memory per task, in MB")
	flag.Parse()
	command := strings.Join(flag.Args(), " ")
	if command == "" || *instances < 1 {
		fmt.Fprintln(os.Stderr, "usage: execute [--master H:P] [--instances N] -- COMMAND")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	failed, err := run(ctx, *master, command, *instances, *cpus, *mem)
	if err != nil {
		fmt.Fprintln(os.Stderr, "execute:", err)
		os.Exit(1)
	}
	if failed > 0 {
		os.Exit(1)
	}
}

// errDone ends the event loop once every task has ended and the
// framework has torn itself down.
var errDone = errors.New("all tasks ended")

// run launches the tasks and returns how many did not finish successfully.
func run(ctx context.Context, master, command string, n int, cpus, mem float64) (failed int, err error) {
	cfg := scheduler.Config{
		Masters: strings.Split(master, ","),
		// Long enough to follow a new leader when the old one dies (a
		// framework without one is removed, its tasks killed, once its
		// stream breaks); the run tears itself down when it is done.
		FailoverTimeout: time.Minute,
		Framework:       api.FrameworkInfo{Name: "execute"},
	}
	// Credentials and TLS as the mezzo CLI takes them (MEZZO_PRINCIPAL,
	// MEZZO_SECRET_FILE, MEZZO_TLS_CA, ...).
	if err := cfg.FromEnv(os.Getenv); err != nil {
		return 0, err
	}
	client := scheduler.New(cfg)
	per := api.Resources{api.ScalarResource("cpus", cpus), api.ScalarResource("mem", mem)}
	var queue []api.TaskInfo
	for i := range n {
		id := fmt.Sprintf("execute-%d", i)
		queue = append(queue, scheduler.CommandTask(id, id, "", command, per))
	}
	ended := map[string]api.TaskState{}
	launched := map[string]api.TaskInfo{} // launched and not yet running
	relaunches := 0
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
					launched[t.TaskID.Value] = t
				}
				warn("launch", client.Launch(ctx, offer.ID, launch...))
			}
			if len(queue) == 0 {
				warn("suppress", client.Suppress(ctx)) // nothing left to place
			}
		case api.EventUpdate:
			st := ev.Update.Status
			t, waiting := launched[st.TaskID.Value]
			if st.State == api.TaskRunning {
				delete(launched, st.TaskID.Value)
			}
			if waiting && (st.State == api.TaskLost || st.State == api.TaskDropped) {
				// It never ran (its launch died with a master): again,
				// under a new ID, since the master refuses a task ID it
				// still holds until the lost update is acknowledged.
				delete(launched, st.TaskID.Value)
				relaunches++
				t.TaskID.Value = fmt.Sprintf("%s.%d", t.Name, relaunches)
				queue = append(queue, t)
				warn("revive", client.Revive(ctx))
				return nil
			}
			if _, seen := ended[st.TaskID.Value]; seen || !st.State.IsTerminal() {
				return nil // updates come at least once: a master that failed over sends again those it had not seen acknowledged
			}
			delete(launched, st.TaskID.Value)
			ended[st.TaskID.Value] = st.State
			fmt.Printf("%s %s %s\n", st.TaskID.Value, st.State, st.Message)
			if st.State != api.TaskFinished {
				failed++
			}
			if len(ended) == n {
				// Leave: tearing down removes the framework at once, so
				// the master need not wait out a failover timeout.
				warn("teardown", client.Teardown(ctx))
				return errDone
			}
		}
		return nil
	})
	if len(ended) == n && (err == nil || errors.Is(err, errDone)) {
		return failed, nil // Run ends with nil after a teardown
	}
	if err == nil {
		err = ctx.Err()
	}
	return failed, err
}
