package webui

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
)

// BenchmarkTaskList renders one page of the tasks table, sorted by name,
// out of 10,000 tasks: the cost of every live refresh of that page.
func BenchmarkTaskList(b *testing.B) {
	f := newFake()
	seed(f)
	var tasks []api.Task
	for i := range 10000 {
		tasks = append(tasks, task("fw1", fmt.Sprintf("t%05d", i), fmt.Sprintf("job-%05d", (i*7919)%10000), "a1", api.TaskRunning, float64(i)))
	}
	f.state.GetTasks = &api.GetTasksResponse{Tasks: tasks}
	f.shared = true // the master answers from its state; copying it in JSON would measure the fake
	c, err := New(f, DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		r := httptest.NewRequest(http.MethodGet, "/tasks?sort=name&page=7", nil)
		r.Header.Set(fragmentHeader, "live")
		w := httptest.NewRecorder()
		c.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}
