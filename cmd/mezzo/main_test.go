package main

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestFlagsFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		want    string
		wantErr string
	}{
		{name: "default", want: "./.mezzo"},
		{name: "from environment", env: map[string]string{"MEZZO_WORK_DIR": "/tmp/x"}, want: "/tmp/x"},
		{name: "flag wins", env: map[string]string{"MEZZO_WORK_DIR": "/tmp/x"}, args: []string{"--work-dir", "/tmp/y"}, want: "/tmp/y"},
		{name: "bad value names the variable", env: map[string]string{"MEZZO_PORT": "many"}, want: "./.mezzo", wantErr: "MEZZO_PORT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			cmd := newDevCmd()
			if err := cmd.ParseFlags(tt.args); err != nil {
				t.Fatal(err)
			}
			err := flagsFromEnv(cmd)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("flagsFromEnv: %v, want error containing %q", err, tt.wantErr)
			}
			if got, _ := cmd.Flags().GetString("work-dir"); got != tt.want {
				t.Fatalf("work-dir = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRunArguments(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "module and command", args: []string{"--command", "true", "x.wasm"}, wantErr: "exactly one"},
		{name: "neither", args: []string{}, wantErr: "exactly one"},
		{name: "two modules", args: []string{"a.wasm", "b.wasm"}, wantErr: "one module"},
		{name: "flag and argument", args: []string{"--module", "a.wasm", "b.wasm"}, wantErr: "one module"},
		{name: "bad env", args: []string{"--env", "NOEQUALS", "--command", "true"}, wantErr: "NAME=VALUE"},
		{name: "missing module file", args: []string{"/no/such/module.wasm"}, wantErr: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := &cobra.Command{Use: "mezzo", SilenceErrors: true, SilenceUsage: true}
			root.AddCommand(newRunCmd())
			root.SetArgs(append([]string{"run", "--master", "127.0.0.1:1"}, tt.args...))
			err := root.Execute()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("mezzo run %v: %v, want an error containing %q", tt.args, err, tt.wantErr)
			}
		})
	}
}

// TestModuleRmArguments checks what mezzo module rm refuses before it
// asks a master for anything (the master is an address nothing serves).
func TestModuleRmArguments(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "no module", args: nil, wantErr: "requires at least 1 arg"},
		{name: "unknown output", args: []string{"-o", "yaml", strings.Repeat("a", 64)}, wantErr: `--output "yaml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := &cobra.Command{Use: "mezzo", SilenceErrors: true, SilenceUsage: true}
			root.AddCommand(newModuleCmd())
			root.SetArgs(append([]string{"module", "rm", "--master", "127.0.0.1:1"}, tt.args...))
			err := root.Execute()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("mezzo module rm %v: %v, want an error containing %q", tt.args, err, tt.wantErr)
			}
		})
	}
}

func TestShellQuote(t *testing.T) {
	got := shellQuote([]string{"a b", "it's", ""})
	if want := `'a b' 'it'\''s' ''`; got != want {
		t.Fatalf("shellQuote = %s, want %s", got, want)
	}
}

func TestExposure(t *testing.T) {
	tests := []struct {
		host                    string
		insecure, authenticated bool
		ok                      bool
	}{
		{"127.0.0.1", false, false, true},
		{"::1", false, false, true},
		{"localhost", false, false, true},
		{"0.0.0.0", false, false, false},
		{"10.1.2.3", false, false, false},
		{"master.example.com", false, false, false},
		{"0.0.0.0", true, false, true},
		{"0.0.0.0", false, true, true},
	}
	for _, tt := range tests {
		err := checkExposure(tt.host, tt.insecure, tt.authenticated)
		if (err == nil) != tt.ok {
			t.Errorf("checkExposure(%q, insecure=%v, authenticated=%v) = %v, want ok=%v", tt.host, tt.insecure, tt.authenticated, err, tt.ok)
		}
	}
	for _, args := range [][]string{{"master", "--host", "0.0.0.0"}, {"agent", "--host", "0.0.0.0"}, {"dev", "--host", "0.0.0.0"}} {
		root := newRoot()
		root.SetArgs(args)
		if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "0.0.0.0") {
			t.Errorf("mezzo %v: %v, want a refusal naming the address", args, err)
		}
	}
}

func TestParseMinAllocatable(t *testing.T) {
	tests := []struct {
		in      string
		want    string // alternatives joined by " | "
		wantErr string
	}{
		{in: defaultMinAllocatable, want: "cpus:0.01 | mem:32"},
		{in: "", want: ""},
		{in: "cpus:1;mem:64", want: "cpus:1;mem:64"},
		{in: " cpus:1 | disk:10 ", want: "cpus:1 | disk:10"},
		{in: "cpus:1||mem:2", wantErr: "alternative 2 is empty"},
		{in: "cpus:lots", wantErr: "alternative 1"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseMinAllocatable(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseMinAllocatable(%q) = %v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			var parts []string
			for _, alt := range got {
				parts = append(parts, alt.String())
			}
			if err != nil || strings.Join(parts, " | ") != tt.want {
				t.Fatalf("parseMinAllocatable(%q) = %q, %v; want %q", tt.in, parts, err, tt.want)
			}
		})
	}
}

func TestParseExecutorEnv(t *testing.T) {
	file := filepath.Join(t.TempDir(), "env.json")
	if err := os.WriteFile(file, []byte(`{"JAVA_HOME": "/opt/jdk"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, in string
		want     map[string]string
		wantErr  string
	}{
		{name: "none", in: ""},
		{name: "inline", in: `{"HTTPS_PROXY":"http://proxy:3128","PATH":"/opt/bin:/usr/bin"}`,
			want: map[string]string{"HTTPS_PROXY": "http://proxy:3128", "PATH": "/opt/bin:/usr/bin"}},
		{name: "file", in: "file://" + file, want: map[string]string{"JAVA_HOME": "/opt/jdk"}},
		{name: "missing file", in: "file://" + file + ".gone", wantErr: "no such file"},
		{name: "not an object", in: `["A=B"]`, wantErr: "want a JSON object of strings"},
		{name: "a number", in: `{"N": 1}`, wantErr: "want a JSON object of strings"},
		{name: "malformed", in: `{"A":`, wantErr: "want a JSON object of strings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseExecutorEnv(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseExecutorEnv(%q) = %v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !maps.Equal(got, tt.want) {
				t.Fatalf("parseExecutorEnv(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}
