package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of /proc/<pid>/stat's CPU times (USER_HZ, 100 on
// Linux everywhere that matters).
const clockTick = 10 * time.Millisecond

// procStat is what the harness reads of a process in /proc.
type procStat struct {
	ppid int
	// self is the CPU the process used; children that of its children
	// it has waited for (and theirs, recursively).
	self, children time.Duration
}

// readStat reads /proc/<pid>/stat.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, fmt.Errorf("read stat of %d: %w", pid, err)
	}
	// The command name may hold spaces and parentheses: fields start
	// after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("read stat of %d: malformed", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("read stat of %d: %d fields", pid, len(f))
	}
	num := func(k int) int64 { n, _ := strconv.ParseInt(f[k], 10, 64); return n }
	// f[0] is field 3 (state): utime is field 14, so f[11].
	return procStat{
		ppid:     int(num(1)),
		self:     time.Duration(num(11)+num(12)) * clockTick,
		children: time.Duration(num(13)+num(14)) * clockTick,
	}, nil
}

// rss returns a process's resident set size in bytes.
func rss(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read status of %d: %w", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("read status of %d: VmRSS %q", pid, rest)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("read status of %d: no VmRSS", pid)
}

// descendants returns the live descendants of pid.
func descendants(pid int) []int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	parent := map[int]int{}
	for _, d := range dirs {
		p, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		if st, err := readStat(p); err == nil {
			parent[p] = st.ppid
		}
	}
	var out []int
	for p := range parent {
		for q := parent[p]; q > 1; q = parent[q] {
			if q == pid {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// treeCPU is the CPU a process tree has used: the process, the children
// it waited for, and its live descendants.
func treeCPU(pid int) (time.Duration, error) {
	st, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	total := st.self + st.children
	for _, d := range descendants(pid) {
		if ds, err := readStat(d); err == nil {
			// children counts only reaped processes, which are no
			// longer descendants: nothing is counted twice.
			total += ds.self + ds.children
		}
	}
	return total, nil
}

// treeRSS is the resident memory of a process and its live descendants.
func treeRSS(pid int) (int64, int, error) {
	total, err := rss(pid)
	if err != nil {
		return 0, 0, err
	}
	ds := descendants(pid)
	for _, d := range ds {
		if r, err := rss(d); err == nil {
			total += r
		}
	}
	return total, len(ds), nil
}

// selfRSS is this process's resident memory.
func selfRSS() int64 {
	r, _ := rss(os.Getpid())
	return r
}
