package executor_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/executor/executortest"
)

// TestMezzoExecutor runs the real `mezzo executor` process with the
// environment an agent gives it, as an agent would start it.
func TestMezzoExecutor(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the mezzo binary")
	}
	bin := filepath.Join(t.TempDir(), "mezzo")
	if out, err := exec.Command(goTool(), "build", "-o", bin, "../..").CombinedOutput(); err != nil {
		t.Fatalf("build mezzo: %v\n%s", err, out)
	}
	agent := executortest.NewAgent(executortest.Options{FrameworkID: "fw-1", ExecutorID: "ex-1", Token: "tok"})
	defer agent.Close()
	sandbox := t.TempDir()
	cmd := exec.Command(bin, "executor")
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"MESOS_AGENT_ENDPOINT=" + agent.Endpoint(),
		"MESOS_FRAMEWORK_ID=fw-1",
		"MESOS_EXECUTOR_ID=ex-1",
		"MESOS_SANDBOX=" + sandbox,
		"MESOS_DIRECTORY=" + sandbox,
		"MESOS_CHECKPOINT=1",
		"MESOS_RECOVERY_TIMEOUT=15mins",
		"MESOS_SUBSCRIPTION_BACKOFF_MAX=2secs",
		"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD=5secs",
		"MESOS_EXECUTOR_AUTHENTICATION_TOKEN=tok",
		"MEZZO_MODULES_DIR=" + shared.modulesDir,
		"MEZZO_MODULE_CACHE=" + shared.cacheDir,
	}
	cmd.Stderr = testWriter{t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	gone := make(chan struct{})
	go func() {
		exited <- cmd.Wait()
		close(gone)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-gone // no logging from its stderr after the test
	})

	h := &harness{t: t, agent: agent, sandbox: sandbox}
	h.wait("the executor to subscribe", agent.Connected)
	agent.Launch(shell("t1", "echo hello from $MESOS_TASK_ID"))
	if st := h.terminal("t1"); st.State != api.TaskFinished {
		t.Errorf("t1 ended %s %q", st.State, st.Message)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("mezzo executor exited with %v, want status 0", err)
		}
	case <-time.After(waitTime):
		t.Fatal("mezzo executor did not exit after its task ended")
	}
	if got := readFile(filepath.Join(sandbox, "stdout")); got != "hello from t1\n" {
		t.Errorf("stdout = %q", got)
	}
}

// testWriter sends a process's output to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}
