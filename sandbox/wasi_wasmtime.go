//go:build cgo

package sandbox

import (
	"encoding/binary"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// WASI preview 1 error numbers that the host functions below return.
const (
	wasiEINVAL = 28
	wasiEFAULT = 21
	wasiEPERM  = 63
)

// newWasmtimeLinker returns a linker with wasmtime's WASI preview 1,
// except for three functions that are the host's own, as under wazero:
//
//   - poll_oneoff, because a guest sleeps in it (a Go guest's time.Sleep
//     is a poll_oneoff on a clock) and wasmtime's own sleeps cannot be cut
//     short, so Kill could not stop a sleeping guest;
//   - path_symlink, which fails with EPERM: see RATIONALE.md, "Why may a
//     Wasm guest not create symbolic links?";
//   - proc_exit, because wasmtime's traps for a status of 126 or more
//     ("invalid exit status"), when the guest meant to exit with it, as
//     it does under wazero.
func newWasmtimeLinker(e *wasmtime.Engine) (*wasmtime.Linker, error) {
	l := wasmtime.NewLinker(e)
	if err := l.DefineWasi(); err != nil {
		l.Close()
		return nil, err
	}
	l.AllowShadowing(true)
	err := l.FuncWrap(wasiModule, "poll_oneoff", pollOneoff)
	if err == nil {
		err = l.FuncWrap(wasiModule, "path_symlink", func(int32, int32, int32, int32, int32) int32 { return wasiEPERM })
	}
	if err == nil {
		err = l.FuncWrap(wasiModule, "proc_exit", procExit)
	}
	if err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// procExit implements WASI's proc_exit(code): it records code, any u32,
// as the task's exit code and unwinds the guest with a trap, which run
// then reads as that exit (wasmtimeRun.exited).
func procExit(c *wasmtime.Caller, code int32) *wasmtime.Trap {
	r := c.Data().(*wasmtimeRun)
	r.exited, r.exitCode = true, int(uint32(code))
	return wasmtime.NewTrap("proc_exit")
}

// Layout of WASI preview 1's subscription and event records.
const (
	subscriptionSize = 48
	eventSize        = 32
	eventClock       = 0 // eventtype clock, and subscription tag clock
	subscriptionAbs  = 1 // subclockflags subscription_clock_abstime
)

// pollOneoff implements WASI's poll_oneoff(in, out, nsubscriptions,
// nevents) for a sandbox, where nothing but clocks can keep a guest
// waiting: the files it can open are always ready, and it has no
// sockets. It reports every file-descriptor subscription ready at once;
// otherwise it sleeps until the first clock subscription is due, and
// reports the clocks then due. A sleep returns early, with a trap, when
// the task is stopped.
//
// Absolute deadlines are measured against wall time for the realtime
// clock, and against the time of the call for the others: wasmtime's
// monotonic clock has an origin the host does not know. Go and Rust
// guests sleep with relative deadlines.
func pollOneoff(c *wasmtime.Caller, in, out, n, nevents int32) (int32, *wasmtime.Trap) {
	ext := c.GetExport("memory")
	if ext == nil || ext.Memory() == nil {
		return 0, wasmtime.NewTrap("poll_oneoff: the module exports no memory")
	}
	mem := ext.Memory().UnsafeData(c)
	if n == 0 {
		return wasiEINVAL, nil
	}
	// The guest's pointers and count are unsigned; wasmtime passes i32s.
	subs, ok1 := span(mem, in, uint64(uint32(n))*subscriptionSize)
	events, ok2 := span(mem, out, uint64(uint32(n))*eventSize)
	count, ok3 := span(mem, nevents, 4)
	if !ok1 || !ok2 || !ok3 {
		return wasiEFAULT, nil
	}

	now := time.Now()
	due := make([]time.Time, n) // zero for a descriptor: ready now
	first := time.Time{}
	ready := false
	for i := range int(n) {
		s := subs[i*subscriptionSize:]
		if s[8] != eventClock {
			ready = true
			continue
		}
		timeout := time.Duration(binary.LittleEndian.Uint64(s[24:]))
		due[i] = now.Add(timeout)
		if binary.LittleEndian.Uint16(s[40:])&subscriptionAbs != 0 && binary.LittleEndian.Uint32(s[16:]) == 0 {
			due[i] = time.Unix(0, int64(timeout)) // realtime, absolute
		}
		if first.IsZero() || due[i].Before(first) {
			first = due[i]
		}
	}
	if !ready {
		r := c.Data().(*wasmtimeRun)
		sleep(r.ctx, time.Until(first))
		if r.ctx.Err() != nil {
			return 0, wasmtime.NewTrap("interrupted: the task was stopped")
		}
	}

	now = time.Now()
	var k int
	for i := range int(n) {
		s := subs[i*subscriptionSize:]
		if s[8] == eventClock && due[i].After(now) {
			continue
		}
		e := events[k*eventSize : (k+1)*eventSize]
		clear(e)
		copy(e[0:8], s[0:8]) // userdata
		e[10] = s[8]         // type: the subscription's tag
		k++
	}
	binary.LittleEndian.PutUint32(count, uint32(k))
	return 0, nil
}

// span returns mem[off:off+size], and false when that is out of bounds.
// off is a guest address, a u32 that wasmtime passes as an i32: one past
// 2 GiB arrives negative.
func span(mem []byte, off int32, size uint64) ([]byte, bool) {
	start := uint64(uint32(off))
	if start+size > uint64(len(mem)) {
		return nil, false
	}
	return mem[start : start+size], true
}
