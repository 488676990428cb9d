package sandbox

import "fmt"

// Isolation says how a native task's memory is capped and its usage
// counted (Spec.Isolation). Wasm tasks ignore it: they are held by their
// engine.
type Isolation string

const (
	// IsolationAuto, the zero value, confines native tasks with cgroups
	// where CgroupsAvailable says they are usable, and with rlimits
	// elsewhere.
	IsolationAuto Isolation = ""

	// IsolationCgroups confines each native task in a cgroup of its own
	// (see Spec.MemoryBytes). Where cgroups are unusable a task then
	// fails to launch, with ReasonLaunchFailed, rather than run uncapped.
	IsolationCgroups Isolation = "cgroups"

	// IsolationRlimits caps each process of a native task with rlimits
	// set before the task runs (RLIMIT_DATA for Spec.MemoryBytes,
	// RLIMIT_CPU for Spec.CPUTime) and counts its usage from /proc and
	// its exit status, even where cgroups are usable: it is the fallback
	// for a machine without them, forced so that it can be tested on one
	// with them. See RATIONALE.md, "Why RLIMIT_DATA where there are no
	// cgroups?".
	IsolationRlimits Isolation = "rlimits"
)

// ParseIsolation reads an isolation as flags and the environment spell
// it: "auto" (or ""), "cgroups" or "rlimits".
func ParseIsolation(s string) (Isolation, error) {
	switch s {
	case "", "auto":
		return IsolationAuto, nil
	case string(IsolationCgroups), string(IsolationRlimits):
		return Isolation(s), nil
	}
	return "", fmt.Errorf("native isolation %q is not one of auto, cgroups, rlimits", s)
}

// String returns the isolation as ParseIsolation reads it ("auto" for
// the zero value).
func (i Isolation) String() string {
	if i == IsolationAuto {
		return "auto"
	}
	return string(i)
}

// initArg0 is the argv[0] by which a process knows it is the rlimit init
// (see IsInit): a name no person types, and what ps shows for the
// moment it runs.
const initArg0 = "mezzo-rlimit-init"

// IsInit reports whether a program started with args (its os.Args) is
// the rlimit init that StartCommand re-executes to set a native task's
// rlimits before the task runs (see Init). A program that starts native
// tasks must call Init first thing in main when IsInit is true, and so
// must the TestMain of tests that start them.
func IsInit(args []string) bool {
	return len(args) > 0 && args[0] == initArg0
}
