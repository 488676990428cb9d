//go:build cgo

package sandbox

import (
	"context"
	"errors"
	"fmt"
	"runtime/cgo"
	"strings"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// wasmtimeRun is one task's run under wasmtime, as the epoch callback and
// the host functions see it. Its fields are used on the guest's thread
// only.
type wasmtimeRun struct {
	ctx    context.Context // done when the guest must stop
	task   *task
	store  *wasmtime.Store
	memory *wasmtime.Memory // nil until instantiated, or without a memory
	fuel   bool             // the store counts fuel

	// exited is set, with exitCode, when the guest called proc_exit:
	// its trap is then an exit (procExit).
	exited   bool
	exitCode int
}

// tick is called at each epoch tick while the guest runs, on its thread.
// It records the memory's size, checks the CPU-time budget, and says
// whether the guest may go on.
func (r *wasmtimeRun) tick() bool {
	r.sample()
	if r.task.overBudget != nil {
		r.task.overBudget()
	}
	return r.ctx.Err() == nil
}

// sample records the size of the guest's memory and, when fuel is
// counted, what it has consumed. The store may be used on the guest's
// thread only, hence samples rather than reads from Process.Usage.
func (r *wasmtimeRun) sample() {
	if r.memory != nil {
		r.task.memory.Store(uint64(r.memory.DataSize(r.store)))
	}
	if r.fuel {
		if left, err := r.store.GetFuel(); err == nil {
			r.task.fuel.Store(fuelTank - left)
		}
	}
}

// fuelTank is the fuel a store starts with: more than any task can burn
// (at a billion units a second, 146 years), so that fuel counts and never
// stops a guest; budgets stop guests (epochs, see RATIONALE.md).
const fuelTank = 1 << 62

// run instantiates the module in a store of its own, limited to the
// task's memory, and calls its entry point. The epoch callback stops the
// guest once ctx is done, and the host's sleeps return early.
func (m *wasmtimeModule) run(ctx context.Context, t *task) outcome {
	b := m.backend
	r := &wasmtimeRun{ctx: ctx, task: t}
	r.store = wasmtime.NewStoreWithData(b.engine, r)
	defer r.store.Close()
	// One memory, a second line behind module.Validate: the limit is
	// each memory's, and only memory 0 is measured.
	r.store.Limiter(int64(t.limit), int64(b.opts.maxTableElements), -1, -1, 1)
	wasi, err := wasiConfig(t)
	if err != nil {
		return outcome{launch: err}
	}
	r.store.SetWasi(wasi)
	if b.opts.fuel {
		if err := r.store.SetFuel(fuelTank); err != nil {
			return outcome{launch: fmt.Errorf("set fuel: %w", err)}
		}
		r.fuel = true
	}
	if b.opts.epochs {
		h := cgo.NewHandle(r)
		defer h.Delete()
		r.store.SetEpochDeadline(1)
		setEpochCallback(r.store, h)
		b.acquire()
		defer b.release()
	}

	inst, err := b.linker.Instantiate(r.store, m.module)
	if err != nil {
		return outcome{launch: fmt.Errorf("instantiate: %s", wasmtimeMessage(err))}
	}
	if m.memory != "" {
		r.memory = inst.GetExport(r.store, m.memory).Memory()
	}
	r.sample()
	_, err = inst.GetFunc(r.store, t.entry).Call(r.store)
	r.sample()

	o := wasmtimeOutcome(err)
	if r.exited {
		o = outcome{code: r.exitCode}
	}
	if o.trap != nil || o.code != 0 {
		o.nearLimit = nearLimit(t.memory.Load(), t.limit)
	}
	return o
}

// wasmtimeOutcome classifies what Func.Call returned. A guest's
// proc_exit, even proc_exit(0), is an error: the trap of procExit, which
// run reads as an exit, or, from wasmtime's own proc_exit, one carrying
// an exit status.
func wasmtimeOutcome(err error) outcome {
	var werr *wasmtime.Error
	switch {
	case err == nil:
		return outcome{}
	case errors.As(err, &werr):
		if status, ok := werr.ExitStatus(); ok {
			return outcome{code: int(status)}
		}
	}
	return outcome{trap: errors.New(wasmtimeMessage(err))}
}

// wasiConfig returns the task's WASI configuration: its arguments and
// environment, its sandbox directory at "/", and its output files.
func wasiConfig(t *task) (*wasmtime.WasiConfig, error) {
	w := wasmtime.NewWasiConfig()
	w.SetArgv(t.argv)
	values := make([]string, len(t.keys))
	for i, k := range t.keys {
		values[i] = t.env[k]
	}
	w.SetEnv(t.keys, values)
	err := w.PreopenDir(t.dir, "/",
		wasmtime.DIR_READ|wasmtime.DIR_WRITE, wasmtime.FILE_READ|wasmtime.FILE_WRITE)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("preopen %s: %w", t.dir, err)
	}
	setOutput(w, t.out.stdout, t.out.stderr)
	return w, nil
}

// wasmtimeMessage returns the gist of a wasmtime error: its message and
// causes on one line, without the wasm and native backtraces that
// wasmtime adds.
func wasmtimeMessage(err error) string {
	s := err.Error()
	if i := strings.Index(s, "\n\nStack backtrace:"); i >= 0 {
		s = s[:i]
	}
	head, causes, _ := strings.Cut(s, "\nCaused by:\n")
	var parts []string
	if first, _, _ := strings.Cut(head, "\n"); !strings.HasPrefix(first, "error while executing at wasm backtrace") {
		parts = append(parts, strings.TrimSpace(first))
	}
	for _, l := range strings.Split(causes, "\n") {
		l = strings.TrimSpace(l)
		if n, rest, ok := strings.Cut(l, ": "); ok && strings.Trim(n, "0123456789") == "" {
			l = rest // a numbered cause
		}
		if l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, ": ")
}
