package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// stopCases are guests that run until stopped, and how to tell that one
// is under way.
var stopCases = []struct {
	name  string
	wasm  func(testing.TB) []byte
	args  []string
	ready func(t *testing.T, dir string, p Process) bool
	// notOn says why the case does not run on an engine.
	notOn map[string]string
}{
	{
		name: "tight loop",
		wasm: watWasm("loop"),
		ready: func(t *testing.T, dir string, p Process) bool {
			return p.Usage().CPUSeconds > 0.05
		},
	},
	{
		name: "sleeping guest",
		wasm: goWasm("guest"),
		args: []string{"sleep"},
		ready: func(t *testing.T, dir string, p Process) bool {
			b, _ := os.ReadFile(filepath.Join(dir, StdoutFile))
			return strings.Contains(string(b), "sleeping")
		},
	},
	{
		name: "loop-free call tree",
		wasm: watWasm("calltree"),
		ready: func(t *testing.T, dir string, p Process) bool {
			return p.Usage().CPUSeconds > 0.05
		},
		notOn: map[string]string{Wazero: wazeroCallTree},
	},
}

// wazeroCallTree says why the call-tree bomb is not run on wazero.
const wazeroCallTree = "wazero checks for a stop at loop headers only and cannot stop a loop-free call tree in-process " +
	"(it ignored a deadline for over two minutes); the executor process is the blast wall for it"

func TestWasmKill(t *testing.T) {
	t.Parallel()
	for _, engine := range Engines() {
		for _, tt := range stopCases {
			t.Run(engine+"/"+tt.name, func(t *testing.T) {
				if why, ok := tt.notOn[engine]; ok {
					t.Skip(why)
				}
				t.Parallel()
				e := testEngine(t, engine)
				m := compile(t, e, tt.wasm(t))
				dir := sandboxDir(t)
				p, err := e.StartWasm(context.Background(), m, Spec{Dir: dir}, WasmSpec{Name: tt.name, Args: tt.args})
				if err != nil {
					t.Fatal(err)
				}
				eventually(t, "guest under way", func() bool { return tt.ready(t, dir, p) })
				p.Kill(time.Hour) // grace means nothing to a guest
				p.Kill(0)
				r := wait(t, p)
				checkResult(t, r, -1, ReasonKilled, "killed")
				if r.Usage.CPUSeconds <= 0 {
					t.Errorf("usage %+v", r.Usage)
				}
			})
		}
	}
}

func TestCPULimit(t *testing.T) {
	t.Parallel()
	const budget = 50 * time.Millisecond
	for _, engine := range Engines() {
		for _, tt := range stopCases {
			t.Run(engine+"/"+tt.name, func(t *testing.T) {
				if why, ok := tt.notOn[engine]; ok {
					t.Skip(why)
				}
				if tt.name == "sleeping guest" {
					t.Skip("a sleeping guest spends no CPU time")
				}
				t.Parallel()
				e := testEngine(t, engine)
				m := compile(t, e, tt.wasm(t))
				p, err := e.StartWasm(context.Background(), m, Spec{Dir: sandboxDir(t), CPUTime: budget}, WasmSpec{Name: tt.name})
				if err != nil {
					t.Fatal(err)
				}
				r := wait(t, p)
				checkResult(t, r, -1, ReasonCPULimit, "CPU time limit of 50ms reached")
				if r.Usage.CPUSeconds < budget.Seconds() {
					t.Errorf("stopped after %.3f s of CPU time, before its budget of %v", r.Usage.CPUSeconds, budget)
				}
				p.Kill(0) // after the end: does nothing
				if again := p.Wait(); again.Reason != ReasonCPULimit {
					t.Errorf("Kill after the end changed the result to %+v", again)
				}
			})
		}
	}
}

func TestKillBeatsCPULimit(t *testing.T) {
	t.Parallel()
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := testEngine(t, engine)
			m := compile(t, e, watModules["loop"])
			p, err := e.StartWasm(context.Background(), m, Spec{Dir: sandboxDir(t), CPUTime: time.Hour}, WasmSpec{})
			if err != nil {
				t.Fatal(err)
			}
			p.Kill(0)
			checkResult(t, wait(t, p), -1, ReasonKilled, "killed")
		})
	}
}
