package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mezzo-cluster/mezzo/sandbox"
)

// The agent puts each executor in a cgroup of its own,
// <parent>/mezzo/agent-<hash of its work directory>/executor-<container>,
// where <parent> is the agent's own memory cgroup on v1 and the root on
// v2; native tasks' cgroups are below it. These helpers find them.

// memoryCgroup returns pid's cgroup in the memory hierarchy (v1) or the
// unified one (v2), or "" where cgroups are not used.
func memoryCgroup(t *testing.T, pid int) string {
	t.Helper()
	v, err := sandbox.CgroupsAvailable()
	if err != nil {
		return ""
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) == 3 && (v == "v1" && f[1] == "memory" || v == "v2" && f[0] == "0") {
			return f[2]
		}
	}
	return ""
}

// cgroupDir is the directory of a memory (v1) or unified (v2) cgroup.
func cgroupDir(p string) string {
	if v, _ := sandbox.CgroupsAvailable(); v == "v2" {
		return filepath.Join("/sys/fs/cgroup", p)
	}
	return filepath.Join("/sys/fs/cgroup/memory", p)
}

// executorCgroupOf returns the executor cgroup pid runs in or below, or
// "" if it runs in none.
func executorCgroupOf(t *testing.T, pid int) string {
	t.Helper()
	p := memoryCgroup(t, pid)
	i := strings.Index(p, "/executor-")
	if i < 0 {
		return ""
	}
	if j := strings.IndexByte(p[i+1:], '/'); j >= 0 {
		return p[:i+1+j]
	}
	return p
}

// executorCgroupDirs returns the directories of the cgroups of the
// executor whose container ID is container, made by agents started by
// this process.
func executorCgroupDirs(t *testing.T, container string) []string {
	t.Helper()
	base := "/"
	if v, _ := sandbox.CgroupsAvailable(); v == "v1" {
		base = memoryCgroup(t, os.Getpid())
	}
	dirs, err := filepath.Glob(filepath.Join(cgroupDir(base), "mezzo", "agent-*", "executor-"+container))
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}
