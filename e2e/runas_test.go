package e2e

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNativeTasksRunAsUser runs native tasks under `mezzo dev` started as
// root, as CI runs it: a task that names no user runs as nobody, writes
// in its sandbox (which the files API still shows, owned by nobody), an
// unknown user fails clearly, and root is refused without an ACL naming
// it.
func TestNativeTasksRunAsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("an agent switches users only as root")
	}
	work := t.TempDir()
	c := startDevIn(t, work)
	tests := []struct {
		name   string
		args   []string
		code   int    // 0, or -1 for any failure
		stdout string // exact when code is 0
		errHas string
	}{
		{name: "the agent's default user", args: []string{"--command", "id -u; id -un"}, stdout: "65534\nnobody\n"},
		{name: "writes its sandbox", args: []string{"--name", "writer", "--command", "echo note > mine && cat mine && stat -c %U ."}, stdout: "note\nnobody\n"},
		{name: "an unknown user", args: []string{"--user", "no-such-user-mezzo", "--command", "true"}, code: -1,
			errHas: `user "no-such-user-mezzo" does not exist`},
		{name: "root without an ACL", args: []string{"--user", "root", "--command", "id -u"}, code: -1,
			errHas: "Task may not run as root"},
		{name: "--user on a Wasm task", args: []string{"--user", "nobody", "./samples/modules/hello"}, code: -1,
			errHas: "--user applies to a --command task only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := c.mezzo(t, append([]string{"run"}, tt.args...)...)
			switch {
			case tt.code == 0 && (code != 0 || out != tt.stdout):
				t.Fatalf("exit %d, stdout %q, want %q; stderr %q", code, out, tt.stdout, errOut)
			case tt.code != 0 && (code == 0 || !strings.Contains(errOut, tt.errHas)):
				t.Fatalf("exit %d, stderr %q, want a failure naming %q", code, errOut, tt.errHas)
			}
		})
	}

	// The writer's file, through the master's proxy of the files API.
	var dirs []string
	all, _ := filepath.Glob(filepath.Join(work, "agent", "sandboxes", "*", "*", "runs", "*", "tasks", "*", "mine"))
	for _, p := range all {
		if !strings.Contains(p, "/runs/latest/") { // the same run, through its link
			dirs = append(dirs, p)
		}
	}
	if len(dirs) != 1 {
		t.Fatalf("found %v, want the writer's file", dirs)
	}
	ids := c.agentIDs(t)
	resp, err := http.Get("http://" + c.addr + "/agents/" + ids[0] + "/files/browse?path=" + url.QueryEscape(strings.TrimPrefix(filepath.Dir(dirs[0]), filepath.Join(work, "agent", "sandboxes"))))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"uid":"nobody"`) || !strings.Contains(string(body), "/mine\"") {
		t.Fatalf("browse the writer's sandbox: %d %s", resp.StatusCode, body)
	}
}

// TestRootWithACL runs a secured master whose ACLs name root for one
// principal: its task asking for root runs as uid 0, another principal's
// is refused though a catch-all rule lets it run tasks as anyone else.
func TestRootWithACL(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("an agent switches users only as root")
	}
	dir := searchable(t, t.TempDir())
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	credentials := write("credentials", "admin admin-secret\nweb web-secret\nagent agent-secret\nmaster master-secret\n")
	acls := write("acls.json", `{
		"register_frameworks": [{"principals": {"type": "ANY"}, "roles": {"type": "ANY"}}],
		"run_tasks": [
			{"principals": {"values": ["admin"]}, "users": {"values": ["root"]}, "native": true},
			{"principals": {"type": "ANY"}, "users": {"type": "ANY"}, "native": true}
		],
		"register_agents": [{"principals": {"values": ["agent"]}, "agents": {"type": "ANY"}}],
		"view_agents": [{"principals": {"type": "ANY"}, "agents": {"type": "ANY"}}],
		"view_sandboxes": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}]
	}`)
	secret := func(p string) []string {
		return []string{"--principal", p, "--secret-file", write(p+".secret", p+"-secret\n")}
	}
	c := startMaster(t, filepath.Join(dir, "master"), append([]string{"--credentials", credentials, "--acls", acls}, secret("master")...)...)
	startAgent(t, c.addr, filepath.Join(dir, "agent"), secret("agent")...)
	waitFor(t, func() bool {
		out, _, code := c.mezzo(t, append([]string{"agents"}, secret("admin")...)...)
		return code == 0 && strings.Count(out, "\n") >= 2
	}, "the agent to register")

	tests := []struct {
		name, principal, user string
		stdout, errHas        string
	}{
		{name: "root, named for admin", principal: "admin", user: "root", stdout: "0\n"},
		{name: "root, not named for web", principal: "web", user: "root", errHas: `no rule of run_tasks names users "root"`},
		{name: "nobody for web", principal: "web", user: "nobody", stdout: "65534\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"run"}, secret(tt.principal)...), "--user", tt.user, "--command", "id -u")
			out, errOut, code := c.mezzo(t, args...)
			switch {
			case tt.stdout != "" && (code != 0 || out != tt.stdout):
				t.Fatalf("exit %d, stdout %q, want %q; stderr %q", code, out, tt.stdout, errOut)
			case tt.errHas != "" && (code == 0 || !strings.Contains(errOut, tt.errHas)):
				t.Fatalf("exit %d, stderr %q, want a failure naming %q", code, errOut, tt.errHas)
			}
		})
	}
}
