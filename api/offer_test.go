package api

import (
	"slices"
	"testing"
)

func TestOperationTasks(t *testing.T) {
	a, b, c := TaskInfo{Name: "a"}, TaskInfo{Name: "b"}, TaskInfo{Name: "c"}
	tests := []struct {
		name string
		op   Operation
		want []string
	}{
		{"launch", Operation{Type: OpLaunch, Launch: &LaunchOperation{TaskInfos: []TaskInfo{a, b}}}, []string{"a", "b"}},
		{"launch group", Operation{Type: OpLaunchGroup, LaunchGroup: &LaunchGroup{TaskGroup: TaskGroupInfo{Tasks: []TaskInfo{c}}}}, []string{"c"}},
		{"launch without payload", Operation{Type: OpLaunch}, nil},
		{"reserve", Operation{Type: "RESERVE", Reserve: &ReserveOperation{}}, nil},
	}
	for _, tt := range tests {
		var got []string
		for _, ti := range tt.op.Tasks() {
			got = append(got, ti.Name)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: Tasks() = %v, want %v", tt.name, got, tt.want)
		}
	}
}
