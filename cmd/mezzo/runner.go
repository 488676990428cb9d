package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/operator"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

// runner is mezzo run's framework: it launches one task on the first offer
// that fits, tails the task's output and stops at its terminal update.
type runner struct {
	flags  runFlags
	ops    *operator.Client
	client *scheduler.Client
	task   api.TaskInfo
	stdout io.Writer
	stderr io.Writer

	launched bool
	waiting  bool // said that no offer fits yet
	tail     *tailer
	done     *taskDone // the task's terminal update, once it came
}

func (r *runner) handle(ctx context.Context, ev *api.Event) error {
	switch ev.Type {
	case api.EventOffers:
		return r.offers(ctx, ev.Offers.Offers)
	case api.EventUpdate:
		return r.update(ctx, ev.Update.Status)
	}
	return nil
}

// offers launches the task on the first offer that fits and declines the
// rest for long, so the cluster stops offering to this one-shot framework.
func (r *runner) offers(ctx context.Context, offers []api.Offer) error {
	var decline []api.OfferID
	need := api.Resources(r.task.Resources).Flatten("*")
	for _, o := range offers {
		if r.launched || !api.Resources(o.Resources).Unallocated().Flatten("*").Contains(need) {
			decline = append(decline, o.ID)
			if !r.launched && !r.waiting {
				// Mesos would wait in silence; say once what is awaited.
				r.waiting = true
				fmt.Fprintf(r.stderr, "mezzo run: waiting for an offer of %s; agent %s offers %s\n",
					need, o.Hostname, api.Resources(o.Resources).Unallocated().Flatten("*"))
			}
			continue
		}
		t := r.task
		t.AgentID = o.AgentID
		if err := r.client.Launch(ctx, o.ID, t); err != nil {
			return err
		}
		r.task = t
		r.launched = true
	}
	if len(decline) > 0 {
		refuse := 1.0
		if r.launched {
			refuse = 3600
		}
		return r.client.Decline(ctx, refuse, decline...)
	}
	return nil
}

// update follows the task: output is tailed from TASK_RUNNING on, and a
// terminal update ends the run once the output is drained.
func (r *runner) update(ctx context.Context, st api.TaskStatus) error {
	if st.TaskID != r.task.TaskID {
		return nil
	}
	if r.tail == nil && st.AgentID != nil && st.State != api.TaskStaging && !isMasterError(st) {
		sandbox := api.SandboxPath(st, r.client.FrameworkID(), st.TaskID.Value) + "/"
		r.tail = startTail(ctx, r.ops, func() *operator.Client { return operatorFor(ctx, r.flags.master) }, st.AgentID.Value, []tailFile{
			{path: sandbox + "stdout", w: r.stdout}, {path: sandbox + "stderr", w: r.stderr},
		})
	}
	if !st.State.IsTerminal() {
		return nil
	}
	if r.tail != nil {
		r.tail.finish()
	}
	// Acknowledge and tear down here: once the handler returns an error the
	// client is no longer subscribed. Both are best effort: if either call
	// fails, the master removes the framework, its task ended, once
	// runFailoverTimeout has passed.
	if len(st.UUID) > 0 && st.AgentID != nil {
		_ = r.client.Acknowledge(ctx, st.AgentID.Value, st.TaskID.Value, st.UUID)
	}
	r.done = &taskDone{status: st}
	_ = r.client.Teardown(ctx)
	return r.done
}

// followRotation notices that the agent rotated the file (it is now
// shorter than what was read: see the agent's --sandbox-output-max-bytes),
// copies the rest of the rotated-out file (name.1), and starts over at
// the new file's beginning. Like tail -F it is best effort: output
// rotated more than once between two reads is skipped.
func followRotation(ctx context.Context, ops *operator.Client, agentID string, f *tailFile) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	size, err := ops.ReadFile(ctx, agentID, f.path, -1, 0)
	if err != nil || size.Offset >= f.offset {
		return false
	}
	old := tailFile{path: f.path + ".1", w: f.w, offset: f.offset}
	for {
		c, err := ops.ReadFile(ctx, agentID, old.path, old.offset, 64<<10)
		if err != nil || len(c.Data) == 0 {
			break
		}
		io.WriteString(old.w, c.Data)
		old.offset += int64(len(c.Data))
	}
	f.offset = 0
	return true
}

// isMasterError reports an update the master made up because the task
// never reached an agent.
func isMasterError(st api.TaskStatus) bool {
	return st.Source == api.SourceMaster && st.State.IsTerminal()
}

// tailFile is one sandbox file copied to a local writer.
type tailFile struct {
	path   string
	w      io.Writer
	offset int64
}

// tailer polls sandbox files through the master and copies what is new.
type tailer struct {
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

const tailInterval = 100 * time.Millisecond

// startTail copies files from the agent through ops until finish. A read
// that gets no answer at all moves the tail to the master that answers
// first now (reconnect): the one it read through may have died, and the
// run re-subscribed to the new leader (runFailoverTimeout). A read the
// master answered with an error is tried again at the next tick through
// the same master.
func startTail(ctx context.Context, ops *operator.Client, reconnect func() *operator.Client, agentID string, files []tailFile) *tailer {
	ctx, cancel := context.WithCancel(ctx)
	t := &tailer{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(t.done)
		tick := time.NewTicker(tailInterval)
		defer tick.Stop()
		for {
			stopping := ctx.Err() != nil
			for i := range files {
				var refused *operator.HTTPError
				if err := drain(context.WithoutCancel(ctx), ops, agentID, &files[i]); err != nil && !errors.As(err, &refused) {
					ops = reconnect()
					if stopping { // the last pass: once more, through the new master
						drain(context.WithoutCancel(ctx), ops, agentID, &files[i])
					}
				}
			}
			if stopping {
				return
			}
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
	}()
	return t
}

// finish copies what remains and stops the tailer.
func (t *tailer) finish() {
	t.once.Do(func() {
		t.cancel()
		<-t.done
	})
}

// drain copies a file's new bytes, reading until nothing more comes, and
// returns why a read failed.
func drain(ctx context.Context, ops *operator.Client, agentID string, f *tailFile) error {
	const chunk = 64 << 10
	for {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := ops.ReadFile(rctx, agentID, f.path, f.offset, chunk)
		cancel()
		if err != nil {
			return err
		}
		if len(c.Data) == 0 && f.offset > 0 && followRotation(ctx, ops, agentID, f) {
			continue
		}
		if len(c.Data) == 0 {
			return nil
		}
		io.WriteString(f.w, c.Data)
		f.offset += int64(len(c.Data))
		if len(c.Data) < chunk {
			return nil
		}
	}
}
