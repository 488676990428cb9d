package main

import (
	"strings"
	"testing"
)

// TestDevAgentPort checks where `mezzo dev --masters N` puts its agent:
// its default port, 5051, is the second master's, which once left a
// three-master dev cluster with two.
func TestDevAgentPort(t *testing.T) {
	tests := []struct {
		name            string
		port, n, agent  int
		explicit        bool
		want            int
		wantErrContains string
	}{
		{name: "default port among the masters moves past them", port: 5050, n: 3, agent: 5051, want: 5053},
		{name: "five masters", port: 5050, n: 5, agent: 5051, want: 5055},
		{name: "given among the masters", port: 5050, n: 3, agent: 5052, explicit: true, wantErrContains: "--agent-port 5052 is one of the masters' ports (5050 to 5052)"},
		{name: "given past the masters", port: 5050, n: 3, agent: 5053, explicit: true, want: 5053},
		{name: "masters elsewhere", port: 6000, n: 3, agent: 5051, want: 5051},
		{name: "masters on free ports", port: 0, n: 3, agent: 5051, want: 5051},
		{name: "agent on a free port", port: 5050, n: 3, agent: 0, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := devAgentPort(tt.port, tt.n, tt.agent, tt.explicit)
			if tt.wantErrContains != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrContains) {
					t.Fatalf("got %d, %v; want an error saying %q", got, err, tt.wantErrContains)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}
