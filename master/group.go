package master

import (
	"fmt"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// launchGroup validates a LAUNCH_GROUP against the offered resources and
// records its tasks, all or nothing: if one task is invalid, every task of
// the group gets TASK_ERROR. It reports whether the group was launched.
// m.mu must be held.
func (m *Master) launchGroup(f *framework, a *agent, role string, lg *api.LaunchGroup, remaining *api.Resources, now time.Time) bool {
	exec := lg.Executor
	if exec.Type == "" {
		exec.Type = api.ExecutorDefault
	}
	exec.FrameworkID = &api.FrameworkID{Value: f.id}
	need, err := m.validateGroup(f, a, role, &exec, lg.TaskGroup.Tasks, *remaining)
	reason := api.ReasonTaskGroupInvalid
	for i := 0; err == nil && i < len(lg.TaskGroup.Tasks); i++ {
		if err = m.rootRefused(f, &lg.TaskGroup.Tasks[i]); err != nil {
			reason = api.ReasonTaskGroupUnauthorized
		}
	}
	if err != nil {
		for _, ti := range lg.TaskGroup.Tasks {
			f.update(masterStatus(ti.TaskID, a.id, api.TaskError, reason, err.Error(), now))
		}
		f.note(fmt.Sprintf("task group of executor %s was invalid: %v", exec.ExecutorID.Value, err))
		return false
	}
	*remaining = remaining.Minus(need)
	// The default executor's resources are paid for with the first task
	// and stay allocated until it exits (executor.go).
	execRes := api.Resources(exec.Resources).Unallocated()
	exec.Resources = api.Resources(exec.Resources).Allocate(role)
	for i := range lg.TaskGroup.Tasks {
		allocate(&lg.TaskGroup.Tasks[i], role)
	}
	for _, ti := range lg.TaskGroup.Tasks {
		res := api.Resources(ti.Resources).Unallocated()
		ti.Executor = &exec
		t := &task{info: ti, framework: f.id, agent: a.id, role: role, state: api.TaskStaging, resources: res, group: true}
		f.tasks[ti.TaskID.Value] = t
		a.tasks[taskKey{f.id, ti.TaskID.Value}] = t
		a.used = a.used.Plus(res)
		m.addExecutorTask(a, t, execRes)
		execRes = nil
		m.taskAdded(t)
	}
	lg.Executor = exec
	m.log.Info("launching task group", "framework", f.id, "executor", exec.ExecutorID.Value, "tasks", len(lg.TaskGroup.Tasks), "agent", a.id)
	return true
}

// validateGroup applies Mesos's task group rules and returns the resources
// the group needs: its executor's and its tasks'. role is the offers'
// allocation role. m.mu must be held.
func (m *Master) validateGroup(f *framework, a *agent, role string, exec *api.ExecutorInfo, tasks []api.TaskInfo, remaining api.Resources) (api.Resources, error) {
	if err := api.ValidateExecutorInfo(exec); err != nil {
		return nil, err
	}
	if err := allocatedTo(exec.Resources, role); err != nil {
		return nil, err
	}
	if exec.Type != api.ExecutorDefault {
		return nil, fmt.Errorf("task groups run under the DEFAULT executor; Mezzo agents do not run them under custom executors")
	}
	if len(tasks) == 0 {
		return nil, fmt.Errorf("Task group is empty")
	}
	if e := a.executors[execID{f.id, exec.ExecutorID.Value}]; e != nil && !e.exited {
		return nil, fmt.Errorf("Executor %s is already running on agent %s", exec.ExecutorID.Value, a.id)
	}
	need := api.Resources(exec.Resources).Unallocated()
	seen := map[string]bool{}
	for i := range tasks {
		ti := &tasks[i]
		if ti.Executor != nil {
			return nil, fmt.Errorf("Task %s of a task group must not set 'executor'", ti.TaskID.Value)
		}
		if seen[ti.TaskID.Value] {
			return nil, fmt.Errorf("Task group has duplicate task ID %s", ti.TaskID.Value)
		}
		seen[ti.TaskID.Value] = true
		res := api.Resources(ti.Resources).Unallocated()
		if _, err := m.validateTask(f, a, role, ti, res, remaining.Minus(need)); err != nil {
			return nil, err
		}
		need = need.Plus(res)
	}
	if !remaining.Contains(need) {
		return nil, fmt.Errorf("Task group uses more resources (%s) than available (%s)", need, remaining)
	}
	return need, nil
}
