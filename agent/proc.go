package agent

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// processStartTime returns a process's start time in clock ticks since
// boot (field 22 of /proc/<pid>/stat), or 0 where /proc cannot say.
func processStartTime(pid int) uint64 {
	_, start, ok := procStat(pid)
	if !ok {
		return 0
	}
	return start
}

// processAlive reports whether the process pid runs and, when start is
// not 0, started at start: a PID the kernel reused for another process
// is not the executor's. A zombie is dead.
func processAlive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	state, got, ok := procStat(pid)
	if !ok {
		// No /proc (or no such process): ask the kernel.
		err := syscall.Kill(pid, 0)
		return err == nil || errors.Is(err, syscall.EPERM)
	}
	return state != "Z" && state != "X" && (start == 0 || got == start)
}

// procStat reads the state and start time of a process from /proc.
func procStat(pid int) (state string, start uint64, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", 0, false
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", 0, false
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 {
		return "", 0, false
	}
	start, err = strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return fields[0], start, true
}

// killSession kills every process in the session sid: an executor is
// started as a session leader, and the processes of its tasks (in
// process groups of their own) stay in its session, so this destroys
// what is left of an executor's container once it has died. start is
// the leader's start time: when another process now has its PID (the
// kernel reused it), the session may be someone else's and is left alone.
func killSession(sid int, start uint64) {
	if sid <= 1 {
		return
	}
	if _, got, ok := procStat(sid); ok && start != 0 && got != start {
		return
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 3 && f[3] == strconv.Itoa(sid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
