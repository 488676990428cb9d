package sandbox

import "testing"

func TestTaskDir(t *testing.T) {
	tests := []struct {
		first bool
		want  string
	}{
		{true, "/runs/c"},
		{false, "/runs/c/tasks/t1"},
	}
	for _, tt := range tests {
		if got := TaskDir("/runs/c", "t1", tt.first); got != tt.want {
			t.Errorf("TaskDir(first=%v) = %q, want %q", tt.first, got, tt.want)
		}
	}
}
