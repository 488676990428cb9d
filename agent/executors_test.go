package agent

import (
	"slices"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// TestExecutorShutdownGrace gives an executor a shutdown grace period of
// its own (ExecutorInfo.shutdown_grace_period), far shorter than the
// agent's: the executor is told it in Mesos's notation, which libmesos
// executors parse, and the agent kills the executor, which ignores
// SHUTDOWN, after it, not after the agent's hour.
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
	a.mu.Unlock()
	env := a.executorEnv(r)
	for _, want := range []string{"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD=100ms", "MESOS_RECOVERY_TIMEOUT=15mins",
		"MESOS_SUBSCRIPTION_BACKOFF_MAX=2secs"} {
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
