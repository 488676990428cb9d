package agent

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// TestExecutorShutdownGrace gives an executor a shutdown grace period of
// its own (ExecutorInfo.shutdown_grace_period), far shorter than the
// agent's: the executor is told it in Mesos's notation, which libmesos
// executors parse, and the agent kills the executor, which ignores
// SHUTDOWN, after it, not after the agent's hour. Its environment
// also names the agent, as Mesos's does (MESOS_SLAVE_ID).
func TestExecutorShutdownGrace(t *testing.T) {
	a := newBareAgent(t, func(c *Config) {
		c.ExecutorCommand = []string{"sleep", "600"} // never subscribes, ignores SHUTDOWN
		c.ExecutorRegistrationTimeout = time.Hour
		c.ExecutorShutdownGrace = time.Hour
	})
	a.mu.Lock()
	r := a.newRun("fw", api.FrameworkInfo{Name: "test"}, api.ExecutorInfo{ExecutorID: api.ExecutorID{Value: "e"},
		ShutdownGracePeriod: &api.DurationInfo{Nanoseconds: api.Int64(100 * time.Millisecond)}})
	a.executors[r.key] = r
	a.agentID = "agent-7"
	a.mu.Unlock()
	env := a.executorEnv(r)
	for _, want := range []string{"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD=100ms", "MESOS_RECOVERY_TIMEOUT=15mins",
		"MESOS_SUBSCRIPTION_BACKOFF_MAX=2secs", "MESOS_SLAVE_ID=agent-7"} {
		if !slices.Contains(env, want) {
			t.Errorf("the executor's environment lacks %s: %q", want, env)
		}
	}
	if _, err := a.startExecutor(r); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	a.shutdownRun(r)
	a.mu.Unlock()
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		a.killExecutor(r) // or the test's cleanup waits for the agent's hour
		t.Fatal("the executor was not killed after its own grace period")
	}
}

// TestExecutorRelaunchedUnderItsID launches a task on an executor of the
// ID of one that is exiting, in the window where executorExited has let
// go of the old one but not yet forgotten its checkpoint, as a launch may
// arrive then: the old checkpoint is forgotten, but not the new
// executor's, which agent.db keys by the same framework and executor ID.
// Forgotten, the new executor and its task would be unknown to the agent
// after a restart.
func TestExecutorRelaunchedUnderItsID(t *testing.T) {
	a := newBareAgent(t, func(c *Config) {
		c.ExecutorCommand = []string{"sleep", "600"}
		c.ExecutorRegistrationTimeout = time.Hour
	})
	fw := api.FrameworkInfo{Name: "test", ID: &api.FrameworkID{Value: "fw"}}
	info := &api.ExecutorInfo{ExecutorID: api.ExecutorID{Value: "e"}, FrameworkID: &api.FrameworkID{Value: "fw"}}
	launch := func(task string) *executorRun {
		t.Helper()
		a.launchTasks("fw", fw, info, []api.TaskInfo{{Name: task, TaskID: api.TaskID{Value: task}, Command: &api.CommandInfo{Value: "true"}}}, false)
		a.mu.Lock()
		r := a.executors[execKey{"fw", "e"}]
		a.mu.Unlock()
		deadline := time.Now().Add(20 * time.Second)
		for !onDisk(t, a, r.rec.Container, task) {
			if time.Now().After(deadline) {
				t.Fatalf("executor %s with task %s never reached agent.db", r.rec.Container, task)
			}
			time.Sleep(10 * time.Millisecond)
		}
		return r
	}
	first := launch("t1")
	// Its preparation goes on after its launch is on disk (the executor's
	// start, then the launch's own checkpoint), and writes the same
	// agent.db key as the second run's: it must be over, and on disk,
	// before the run is taken out of a.executors, as it would be by the
	// time its executor exited.
	deadline := time.Now().Add(20 * time.Second)
	for {
		a.mu.Lock()
		launched := first.launched
		a.mu.Unlock()
		if launched {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("t1's launch was never queued for its executor")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := a.barrier().wait(); err != nil {
		t.Fatal(err)
	}
	// Taken out of a.executors below, the agent's stop would not end it,
	// and would wait for it for ever should the test fail before
	// executorExited.
	t.Cleanup(func() { a.killExecutor(first) })
	a.mu.Lock()
	delete(a.executors, first.key) // executorExited's first step, under a.mu
	a.mu.Unlock()
	second := launch("t2")
	if second == first {
		t.Fatal("the launch went to the executor shutting down")
	}
	a.executorExited(first, "test over", false, nil)
	if err := a.barrier().wait(); err != nil {
		t.Fatal(err)
	}
	if !onDisk(t, a, second.rec.Container, "t2") {
		t.Errorf("the new executor %s and its task are gone from agent.db", second.rec.Container)
	}
}

// onDisk reports whether agent.db holds the executor run container with
// the task.
func onDisk(t *testing.T, a *Agent, container, task string) bool {
	t.Helper()
	recs, err := a.store.executors()
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		if rec.Container != container {
			continue
		}
		for _, rt := range rec.Tasks {
			if rt.Info.TaskID.Value == task {
				return true
			}
		}
	}
	return false
}

// TestExecutorEnvironment starts real executor processes, Mezzo's and a
// custom one, that write down the environment they got: the operator's
// variables (Config.ExecutorEnvironment) are there, its PATH in place of
// the default, the agent's MESOS_ variables over the operator's, and a
// custom executor's own variables over both; nothing comes from the
// agent's own environment.
func TestExecutorEnvironment(t *testing.T) {
	t.Setenv("MEZZO_TEST_AGENT_SECRET", "not for executors")
	a := newBareAgent(t, func(c *Config) {
		c.ExecutorCommand = []string{"/bin/sh", "-c", `env > "$MESOS_SANDBOX/env.txt"; exec sleep 600`}
		c.ExecutorRegistrationTimeout = time.Hour
		c.ExecutorEnvironment = map[string]string{"JAVA_HOME": "/usr/lib/jvm/default", "PATH": "/opt/tools/bin:/usr/bin:/bin",
			"MESOS_FRAMEWORK_ID": "operator's", "HTTPS_PROXY": "http://proxy:3128"}
	})
	custom := &api.CommandInfo{Value: `env > "$MESOS_SANDBOX/env.txt"; exec sleep 600`,
		Environment: &api.Environment{Variables: []api.EnvironmentVariable{{Name: "JAVA_HOME", Value: "/opt/jdk"}}}}
	for _, tc := range []struct {
		name    string
		command *api.CommandInfo
		want    []string
	}{
		{name: "mezzo's", want: []string{"JAVA_HOME=/usr/lib/jvm/default", "PATH=/opt/tools/bin:/usr/bin:/bin",
			"MESOS_FRAMEWORK_ID=fw", "HTTPS_PROXY=http://proxy:3128"}},
		{name: "custom", command: custom, want: []string{"JAVA_HOME=/opt/jdk", "PATH=/opt/tools/bin:/usr/bin:/bin",
			"MESOS_FRAMEWORK_ID=fw", "HTTPS_PROXY=http://proxy:3128"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a.mu.Lock()
			r := a.newRun("fw", api.FrameworkInfo{Name: "test", ID: &api.FrameworkID{Value: "fw"}},
				api.ExecutorInfo{ExecutorID: api.ExecutorID{Value: "e-" + tc.name}, Command: tc.command})
			a.executors[r.key] = r
			a.mu.Unlock()
			if _, err := a.startExecutor(r); err != nil {
				t.Fatal(err)
			}
			defer func() {
				a.killExecutor(r)
				<-r.done
			}()
			var got []string
			deadline := time.Now().Add(20 * time.Second)
			for len(got) == 0 || !slices.Contains(got, "MESOS_EXECUTOR_ID=e-"+tc.name) {
				if time.Now().After(deadline) {
					t.Fatalf("the executor wrote no environment: %q", got)
				}
				time.Sleep(10 * time.Millisecond)
				b, _ := os.ReadFile(filepath.Join(r.rec.Dir, "env.txt"))
				got = strings.Split(string(b), "\n")
			}
			for _, want := range tc.want {
				if !slices.Contains(got, want) {
					t.Errorf("the executor's environment lacks %s: %q", want, got)
				}
			}
			for _, v := range got {
				if strings.HasPrefix(v, "MEZZO_TEST_AGENT_SECRET=") {
					t.Errorf("the executor inherited the agent's environment: %s", v)
				}
			}
		})
	}
}

// TestShutdownExecutorEvent sends the agent SHUTDOWN_EXECUTOR, as a
// framework's SHUTDOWN call makes the master do, for one of three real
// executor processes that ignore SHUTDOWN: that one is killed after its
// grace period and its live task is TASK_LOST with
// REASON_EXECUTOR_TERMINATED, as in Mesos; its sibling of the same
// framework and the executor of the same ID of another framework run on.
// An event naming no executor, or one the agent does not run, is ignored.
func TestShutdownExecutorEvent(t *testing.T) {
	a := newBareAgent(t, func(c *Config) {
		c.ExecutorCommand = []string{"sleep", "600"} // never subscribes, ignores SHUTDOWN
		c.ExecutorRegistrationTimeout = time.Hour
		c.ExecutorShutdownGrace = time.Hour
	})
	start := func(fw, exec string) *executorRun {
		t.Helper()
		a.mu.Lock()
		r := a.newRun(fw, api.FrameworkInfo{Name: "test"}, api.ExecutorInfo{ExecutorID: api.ExecutorID{Value: exec},
			ShutdownGracePeriod: &api.DurationInfo{Nanoseconds: api.Int64(100 * time.Millisecond)}})
		a.executors[r.key] = r
		id := exec + "-task"
		r.add(&execTask{info: api.TaskInfo{TaskID: api.TaskID{Value: id}}, state: api.TaskRunning, queued: true, sent: true})
		a.taskIndex[taskKey{fw, id}] = r
		a.mu.Unlock()
		if _, err := a.startExecutor(r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	target, sibling, other := start("fw", "x"), start("fw", "y"), start("fw2", "x")
	shutdown := func(fw, exec string) {
		t.Helper()
		ev := &api.AgentEvent{Type: api.AgentEventShutdownExecutor, ShutdownExecutor: &api.AgentShutdownExecutor{
			FrameworkID: api.FrameworkID{Value: fw}, ExecutorID: api.ExecutorID{Value: exec}}}
		if err := a.handle(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	shutdown("fw", "")
	shutdown("fw", "nope")
	shutdown("fw", "x")
	select {
	case <-target.done:
	case <-time.After(30 * time.Second):
		a.killExecutor(target) // or the test's cleanup waits for the agent's hour
		t.Fatal("the executor was not killed after its grace period")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := a.updates.latest()[taskKey{"fw", "x-task"}]
		if st.State == api.TaskLost && st.Reason == api.ReasonExecutorTerminated {
			if want := "Executor shut down at its framework's request (SHUTDOWN); its task was lost with it"; st.Message != want {
				t.Errorf("its message %q, want %q: who asked, not how the executor exited", st.Message, want)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the shut-down executor's task: %s (%s), want TASK_LOST (REASON_EXECUTOR_TERMINATED)", st.State, st.Reason)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // past the grace period, had they been shut down too
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range []*executorRun{sibling, other} {
		if r.shutdown || r.exited || !processAlive(r.rec.PID, r.rec.StartTime) {
			t.Errorf("executor %s of %s was shut down too", r.key.executor, r.key.framework)
		}
		if st, ok := a.updates.latest()[taskKey{r.key.framework, r.key.executor + "-task"}]; ok {
			t.Errorf("task of executor %s of %s: %s", r.key.executor, r.key.framework, st.State)
		}
	}
}

// TestShutdownExecutorWhilePrepared checks that a task whose executor is
// shut down (SHUTDOWN_EXECUTOR) while the task is still being prepared
// ends killed before its launch, state and reason agreeing: it never ran,
// so it was not lost.
func TestShutdownExecutorWhilePrepared(t *testing.T) {
	a := newBareAgent(t, nil)
	r := registerRun(a, "fw", "x")
	a.mu.Lock()
	r.add(&execTask{info: api.TaskInfo{TaskID: api.TaskID{Value: "t"}}, state: api.TaskStaging})
	a.taskIndex[taskKey{"fw", "t"}] = r
	a.mu.Unlock()
	a.shutdownExecutor(&api.AgentShutdownExecutor{FrameworkID: api.FrameworkID{Value: "fw"}, ExecutorID: api.ExecutorID{Value: "x"}})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st, ok := a.updates.latest()[taskKey{"fw", "t"}]; ok {
			if st.State != api.TaskKilled || st.Reason != api.ReasonTaskKilledDuringLaunch {
				t.Errorf("update %s %s %q, want TASK_KILLED REASON_TASK_KILLED_DURING_LAUNCH", st.State, st.Reason, st.Message)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no update for the task")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestKillOfAnEndedTask checks that a KILL for a task that has just ended,
// its terminal update not yet acknowledged, adds nothing: the agent used
// to answer it TASK_LOST (REASON_TASK_UNKNOWN), a second terminal update.
func TestKillOfAnEndedTask(t *testing.T) {
	a := newBareAgent(t, nil)
	ended := api.TaskStatus{TaskID: api.TaskID{Value: "t"}, State: api.TaskFinished, Source: api.SourceExecutor}
	a.report("fw", ended)
	a.killTask(&api.AgentKill{FrameworkID: api.FrameworkID{Value: "fw"}, TaskID: api.TaskID{Value: "t"}})
	if st := a.updates.latest()[taskKey{"fw", "t"}]; st.State != api.TaskFinished {
		t.Errorf("the latest update of the ended task is %s %s, want its TASK_FINISHED", st.State, st.Reason)
	}
	a.killTask(&api.AgentKill{FrameworkID: api.FrameworkID{Value: "fw"}, TaskID: api.TaskID{Value: "never"}})
	if st := a.updates.latest()[taskKey{"fw", "never"}]; st.State != api.TaskLost || st.Reason != api.ReasonTaskUnknown {
		t.Errorf("a KILL of a task the agent never ran got %s %s, want TASK_LOST REASON_TASK_UNKNOWN", st.State, st.Reason)
	}
}

// TestRegistrationTimeoutAfterShutdown checks that an executor shut down
// before it subscribed, whose registration timeout then passes, keeps
// the outcome its shutdown gives its tasks rather than a registration
// timeout's.
func TestRegistrationTimeoutAfterShutdown(t *testing.T) {
	a := newBareAgent(t, nil)
	r := registerRun(a, "fw", "x")
	a.mu.Lock()
	r.shutdown = true
	before := r.exitReason
	a.mu.Unlock()
	a.registrationTimedOut(r)
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.exitReason != before || r.exitMsg != "" {
		t.Errorf("after the timeout its tasks would end %s %q, want %s as its shutdown says", r.exitReason, r.exitMsg, before)
	}
}
