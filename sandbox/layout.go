package sandbox

import "path/filepath"

// TaskDir is where a task of an executor runs, given the executor's run
// directory: the first task launched alone runs in the run directory
// itself (so a single-task executor's stdout is runs/<container>/stdout,
// as in Mesos), members of task groups and later tasks in
// tasks/<task ID> under it, as Mesos's default executor nests them. A
// native task that runs as a user (api.TaskInfo.RunsAsUser) is never
// first alone: the user gets the task's directory, and the run directory,
// where the executor's files and later tasks' directories go, stays
// root's. The agent places tasks by this rule when they arrive, and
// tells the executor where in each LAUNCH
// (api.ExecutorLaunch.ExecutorSandbox), since the task it placed first
// may never be sent; the executor, where it is not told, places them by
// the rule as they reach it.
func TaskDir(runDir, taskID string, firstAlone bool) string {
	if firstAlone {
		return runDir
	}
	return filepath.Join(runDir, "tasks", taskID)
}
