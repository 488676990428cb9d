package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestHello runs the sample as a task author would try it first: as an
// ordinary program. The e2e tests run the same code as a Wasm task.
func TestHello(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{name: "no arguments", want: "hello\n"},
		{name: "arguments", args: []string{"world", "moon"}, want: "hello world\nhello moon\n"},
		{name: "greeting", args: []string{"monde"}, env: []string{"GREETING=bonjour"}, want: "bonjour monde\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command("go", append([]string{"run", "."}, tt.args...)...)
			cmd.Env = append(cmd.Environ(), tt.env...)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go run: %v", err)
			}
			if got := strings.ReplaceAll(string(out), "\r", ""); got != tt.want {
				t.Fatalf("output %q, want %q", got, tt.want)
			}
		})
	}
}
