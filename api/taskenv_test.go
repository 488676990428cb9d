package api

import "testing"

func TestTaskEnvironment(t *testing.T) {
	env := &Environment{Variables: []EnvironmentVariable{{Name: "GREETING", Value: "hi"}, {Name: "MESOS_SANDBOX", Value: "/own"}}}
	got := TaskEnvironment("fw", "ex", "ag", "t1", "/", env)
	want := map[string]string{
		"MESOS_TASK_ID": "t1", "MESOS_FRAMEWORK_ID": "fw", "MESOS_EXECUTOR_ID": "ex",
		"MEZZO_SANDBOX": "/", "MEZZO_TASK_ID": "t1", "MEZZO_FRAMEWORK_ID": "fw", "MEZZO_AGENT_ID": "ag",
		"GREETING": "hi", "MESOS_SANDBOX": "/own", // the task's own variables win
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}
