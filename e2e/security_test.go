package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecureCluster runs a master that requires credentials and enforces
// ACLs, with an agent that authenticates to it, and uses it as people
// would: the CLI without credentials is refused with a clear message, an
// operator lists agents, a framework principal runs a task and sees its
// output, a principal the ACLs do not let register frameworks cannot run
// one, the console sends a browser without a session to its login form
// and lets in only a good principal and secret, and the agent's own
// API answers only the master (whose proxy still serves task output) and
// operators.
func TestSecureCluster(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	credentials := write("credentials", "ops ops-secret\nweb web-secret\nagent agent-secret\nmaster master-secret\n")
	agentCredentials := write("agent-credentials", "master master-secret\nops ops-secret\n")
	acls := write("acls.json", `{
		"register_frameworks": [{"principals": {"values": ["web"]}, "roles": {"type": "ANY"}}],
		"run_tasks": [{"principals": {"values": ["web"]}, "users": {"type": "ANY"}, "native": true}],
		"register_agents": [{"principals": {"values": ["agent"]}, "agents": {"type": "ANY"}}],
		"view_agents": [{"principals": {"values": ["ops"]}, "agents": {"type": "ANY"}}],
		"view_sandboxes": [{"principals": {"values": ["web"]}, "users": {"type": "ANY"}}]
	}`)
	secret := func(p string) []string {
		return []string{"--principal", p, "--secret-file", write(p+".secret", p+"-secret\n")}
	}

	c := startMaster(t, filepath.Join(dir, "master"), append([]string{"--credentials", credentials, "--acls", acls}, secret("master")...)...)
	agentAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	_, agentPort, _ := strings.Cut(agentAddr, ":")
	startAgent(t, c.addr, filepath.Join(dir, "agent"), append([]string{"--port", agentPort, "--credentials", agentCredentials}, secret("agent")...)...)
	waitFor(t, func() bool {
		out, _, code := c.mezzo(t, append([]string{"agents"}, secret("ops")...)...)
		return code == 0 && strings.Count(out, "\n") >= 2 // a header and the agent
	}, "the agent to register with its credential")

	if _, errOut, code := c.mezzo(t, "agents"); code == 0 || !strings.Contains(errOut, "Unauthorized") {
		t.Fatalf("the CLI without credentials: exit %d, stderr %q", code, errOut)
	}
	args := append([]string{"run"}, secret("web")...)
	out, errOut, code := c.mezzo(t, append(args, "--command", "echo secure hello")...)
	if code != 0 || !strings.Contains(out, "secure hello") {
		t.Fatalf("web running a task: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	args = append([]string{"run"}, secret("ops")...)
	if _, errOut, code := c.mezzo(t, append(args, "--command", "true")...); code == 0 || !strings.Contains(errOut, "may not register_frameworks") {
		t.Fatalf("ops running a task: exit %d, stderr %q", code, errOut)
	}

	for _, tt := range []struct {
		url, user, pass string
		want            int
	}{
		// The agent's own API: the master's principal and ops may read it
		// (the master proxied web's output above), nobody else.
		{"http://" + agentAddr + "/files/browse?path=/", "", "", http.StatusUnauthorized},
		{"http://" + agentAddr + "/files/browse?path=/", "web", "web-secret", http.StatusUnauthorized},
		{"http://" + agentAddr + "/files/browse?path=/", "ops", "ops-secret", http.StatusOK},
		{"http://" + agentAddr + "/monitor/statistics", "", "", http.StatusUnauthorized},
		{"http://" + agentAddr + "/health", "", "", http.StatusOK},
	} {
		req, _ := http.NewRequest(http.MethodGet, tt.url, nil)
		if tt.user != "" {
			req.SetBasicAuth(tt.user, tt.pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want || (tt.want == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "") {
			t.Errorf("GET %s as %q: %d (challenge %q), want %d", tt.url, tt.user, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), tt.want)
		}
	}

	// The console: no Basic prompt but a login form, whatever the
	// request carries, and a session for a good secret only.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, "http://"+c.addr+"/agents", nil)
	req.SetBasicAuth("web", "web-secret")
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Fagents" || resp.Header.Get("WWW-Authenticate") != "" {
		t.Errorf("console without a session: %d %q (challenge %q), want 303 to the login form", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("WWW-Authenticate"))
	}
	for _, tt := range []struct {
		secret string
		want   int
	}{{"wrong", http.StatusUnauthorized}, {"web-secret", http.StatusSeeOther}} {
		resp, err := noFollow.PostForm("http://"+c.addr+"/login", url.Values{"principal": {"web"}, "secret": {tt.secret}, "next": {"/agents"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want || (tt.want == http.StatusSeeOther) != (len(resp.Cookies()) == 1) {
			t.Errorf("console login with %q: %d, cookies %v, want %d", tt.secret, resp.StatusCode, resp.Cookies(), tt.want)
			continue
		}
		if tt.want != http.StatusSeeOther {
			continue
		}
		req, _ := http.NewRequest(http.MethodGet, "http://"+c.addr+"/agents", nil)
		req.AddCookie(resp.Cookies()[0])
		page, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page.Body.Close()
		if page.StatusCode != http.StatusOK {
			t.Errorf("console page with the session: %d", page.StatusCode)
		}
	}
}

// TestAgentWasmOnly runs an agent without --allow-native: a native task
// fails with TASK_ERROR and says how to allow it, and a Wasm task runs.
func TestAgentWasmOnly(t *testing.T) {
	c := startMaster(t, t.TempDir())
	startAgent(t, c.addr, t.TempDir(), "--allow-native=false")
	waitFor(t, func() bool { return len(c.agentIDs(t)) == 1 }, "the agent to register")
	_, errOut, code := c.mezzo(t, "run", "--command", "echo native")
	if code == 0 || !strings.Contains(errOut, "TASK_ERROR") || !strings.Contains(errOut, "--allow-native") {
		t.Fatalf("a native task: exit %d, stderr %q", code, errOut)
	}
	out, errOut, code := c.mezzo(t, "run", "./samples/modules/hello", "--", "wasm")
	if code != 0 || out != "hello wasm\n" {
		t.Fatalf("a Wasm task: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
