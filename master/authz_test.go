package master

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/api/acl"
	"github.com/mezzo-cluster/mezzo/api/auth"
)

func basic(principal, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(principal+":"+secret))
}

// secureMaster starts a master that requires credentials (web, ops, ci
// and agent, each with the secret "<name>-pw") and, when acls is not
// empty, enforces those ACLs.
func secureMaster(t *testing.T, acls string) *testMaster {
	t.Helper()
	a, err := auth.New([]auth.Credential{
		{Principal: "web", Secret: "web-pw"}, {Principal: "ops", Secret: "ops-pw"},
		{Principal: "ci", Secret: "ci-pw", Token: "ci-token"}, {Principal: "agent", Secret: "agent-pw"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var parsed *acl.ACLs
	if acls != "" {
		if parsed, err = acl.Parse([]byte(acls)); err != nil {
			t.Fatal(err)
		}
	}
	return startMaster(t, func(c *Config) { c.Authenticator, c.ACLs = a, parsed })
}

// TestEveryRouteNeedsCredentials walks every route the master registers:
// without credentials, or with wrong ones, each answers 401 with a
// challenge — all but health and version; with a good credential none
// does.
func TestEveryRouteNeedsCredentials(t *testing.T) {
	tm := secureMaster(t, "")
	routes := tm.Handler().(*echo.Echo).Routes()
	if len(routes) < 20 {
		t.Fatalf("only %d routes registered", len(routes))
	}
	open := map[string]bool{"/health": true, "/version": true, "/master/health": true, "/master/version": true}
	for _, r := range routes {
		path := strings.ReplaceAll(strings.ReplaceAll(r.Path, ":agent", "a1"), ":sha256", strings.Repeat("0", 64))
		path = strings.ReplaceAll(path, ":op", "read")
		for _, cred := range []string{"", basic("web", "wrong"), basic("nobody", "x"), "Bearer wrong"} {
			req, _ := http.NewRequest(r.Method, tm.url+path, bytes.NewReader([]byte("{}")))
			req.Header.Set("Content-Type", "application/json")
			if cred != "" {
				req.Header.Set("Authorization", cred)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			switch {
			case open[r.Path] && resp.StatusCode == http.StatusUnauthorized:
				t.Errorf("%s %s with %q: 401, but it must stay open", r.Method, path, cred)
			case !open[r.Path] && resp.StatusCode != http.StatusUnauthorized:
				t.Errorf("%s %s with %q: %d, want 401", r.Method, path, cred, resp.StatusCode)
			case !open[r.Path] && !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Basic"):
				t.Errorf("%s %s: 401 without a challenge", r.Method, path)
			}
		}
		for _, cred := range []string{basic("web", "web-pw"), "Bearer ci-token"} {
			req, _ := http.NewRequest(r.Method, tm.url+path, bytes.NewReader([]byte("{}")))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", cred)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				t.Errorf("%s %s with a good credential: 401", r.Method, path)
			}
		}
	}
}

// TestFrameworkPrincipal checks Mesos's rule: an authenticated framework
// subscribes as its own principal, and only that principal may drive it.
func TestFrameworkPrincipal(t *testing.T) {
	tm := secureMaster(t, "")
	tm.header = []string{"Authorization", basic("web", "web-pw")}
	code, body := tm.status(t, "/api/v1/scheduler", api.Call{Type: api.CallSubscribe,
		Subscribe: &api.Subscribe{FrameworkInfo: api.FrameworkInfo{User: "u", Name: "n", Principal: "ops"}}})
	if code != http.StatusForbidden || !strings.Contains(body, `"ops" does not match the authenticated principal "web"`) {
		t.Fatalf("subscribing as another principal: %d %s", code, body)
	}
	f := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "n"}) // principal filled in
	tm.header = []string{"Authorization", basic("ops", "ops-pw")}
	if code, body := f.call(api.Call{Type: api.CallRevive, Revive: &api.Revive{}}); code != http.StatusForbidden ||
		!strings.Contains(body, `framework `+f.id+` of principal "web"`) {
		t.Fatalf("ops driving web's framework: %d %s", code, body)
	}
	tm.header = []string{"Authorization", basic("web", "web-pw")}
	f.mustCall(api.Call{Type: api.CallRevive, Revive: &api.Revive{}})
}

const testACLs = `{
  "register_frameworks": [{"principals": {"values": ["web"]}, "roles": {"values": ["web", "*"]}}],
  "run_tasks": [{"principals": {"values": ["web"]}, "users": {"values": ["nobody"]}}],
  "upload_modules": [{"principals": {"values": ["ci"]}}],
  "update_weights": [{"principals": {"values": ["ops"]}, "roles": {"values": ["web"]}}],
  "update_quota": [{"principals": {"values": ["ops"]}, "roles": {"type": "ANY"}}],
  "teardown_frameworks": [{"principals": {"values": ["ops"]}, "framework_principals": {"values": ["web"]}}],
  "drain_agents": [{"principals": {"values": ["ops"]}, "agents": {"type": "ANY"}}],
  "register_agents": [{"principals": {"values": ["agent"]}, "agents": {"type": "ANY"}}],
  "update_masters": [{"principals": {"values": ["ops"]}}]
}`

// TestACLs checks each ACL'd action both ways: allowed to the principal a
// rule names, and refused to another with 403 naming the permission.
func TestACLs(t *testing.T) {
	tm := secureMaster(t, testACLs)
	as := func(p string) { tm.header = []string{"Authorization", basic(p, p+"-pw")} }

	// register_agents: the agent's credential, not web's.
	as("web")
	code, body := tm.status(t, "/api/v1/agent", api.AgentCall{Type: api.AgentCallSubscribe, Subscribe: &api.AgentSubscribe{
		AgentInfo: api.AgentInfo{Hostname: "h1", Port: 5051, Resources: []api.Resource{scalar("cpus", 1)}}}})
	if code != http.StatusForbidden || !strings.Contains(body, `principal "web" may not register_agents (agents "h1")`) {
		t.Fatalf("web registering an agent: %d %s", code, body)
	}
	as("agent")
	a := tm.agent(t, "cpus:4;mem:1024")

	// register_frameworks: web may take role web, not role ops; ops may not
	// register at all.
	as("ops")
	code, body = tm.status(t, "/api/v1/scheduler", api.Call{Type: api.CallSubscribe,
		Subscribe: &api.Subscribe{FrameworkInfo: api.FrameworkInfo{User: "nobody", Name: "n"}}})
	if code != http.StatusForbidden || !strings.Contains(body, "may not register_frameworks") {
		t.Fatalf("ops registering a framework: %d %s", code, body)
	}
	as("web")
	code, body = tm.status(t, "/api/v1/scheduler", api.Call{Type: api.CallSubscribe,
		Subscribe: &api.Subscribe{FrameworkInfo: api.FrameworkInfo{User: "nobody", Name: "n", Roles: []string{"web", "ops"},
			Capabilities: []api.FrameworkCapability{{Type: api.CapMultiRole}}}}})
	if code != http.StatusForbidden || !strings.Contains(body, `register_frameworks (roles "ops")`) {
		t.Fatalf("web taking role ops: %d %s", code, body)
	}
	f := tm.subscribe(t, api.FrameworkInfo{User: "nobody", Name: "n"})

	// run_tasks: web may run Wasm tasks as nobody; a native task, or a task
	// as root, is refused and launches nothing.
	o := f.offer()
	native := commandTask("native", o, 0.1, 32)
	if code, body := f.call(launch(o, native)); code != http.StatusForbidden || !strings.Contains(body, "allows Wasm tasks only") {
		t.Fatalf("a native task: %d %s", code, body)
	}
	asRoot := commandTask("root", o, 0.1, 32)
	asRoot.Command = nil
	asRoot.Container = &api.ContainerInfo{Type: api.ContainerWasm, Wasm: &api.WasmInfo{SHA256: strings.Repeat("a", 64)}}
	asRoot.Command = &api.CommandInfo{User: "root"}
	if code, body := f.call(launch(o, asRoot)); code != http.StatusForbidden || !strings.Contains(body, `run_tasks (users "root")`) {
		t.Fatalf("a task as root: %d %s", code, body)
	}
	if n := len(tm.Master.frameworks[f.id].tasks); n != 0 {
		t.Fatalf("%d tasks after refused launches", n)
	}

	// Operator writes.
	tests := []struct {
		principal string
		call      string
		want      int
		msg       string
	}{
		{"web", `{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"web","weight":2}]}}`, 403, "may not update_weights"},
		{"ops", `{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"web","weight":2}]}}`, 200, ""},
		{"ops", `{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"batch","weight":2}]}}`, 403, `(roles "batch")`},
		{"web", `{"type":"UPDATE_QUOTA","update_quota":{"quota_configs":[{"role":"web","limits":{"cpus":{"value":1}}}]}}`, 403, "may not update_quota"},
		{"ops", `{"type":"UPDATE_QUOTA","update_quota":{"quota_configs":[{"role":"web","limits":{"cpus":{"value":1}}}]}}`, 200, ""},
		{"web", `{"type":"DRAIN_AGENT","drain_agent":{"agent_id":{"value":"` + a.id + `"}}}`, 403, `drain_agents (agents "127.0.0.1")`},
		{"web", `{"type":"DEACTIVATE_AGENT","deactivate_agent":{"agent_id":{"value":"` + a.id + `"}}}`, 403, "may not drain_agents"},
		{"ops", `{"type":"DEACTIVATE_AGENT","deactivate_agent":{"agent_id":{"value":"` + a.id + `"}}}`, 200, ""},
		{"ops", `{"type":"REACTIVATE_AGENT","reactivate_agent":{"agent_id":{"value":"` + a.id + `"}}}`, 200, ""},
		{"web", `{"type":"ADD_MASTER","add_master":{"address":"127.0.0.1:1"}}`, 403, "may not update_masters"},
		{"ci", `{"type":"TEARDOWN","teardown":{"framework_id":{"value":"` + f.id + `"}}}`, 403, `teardown_frameworks (framework_principals "web")`},
		{"ops", `{"type":"TEARDOWN","teardown":{"framework_id":{"value":"` + f.id + `"}}}`, 200, ""},
	}
	for _, tt := range tests {
		as(tt.principal)
		code, body := tm.status(t, "/api/v1", tt.call)
		if code != tt.want || !strings.Contains(body, tt.msg) {
			t.Errorf("%s: %s: %d %s, want %d with %q", tt.principal, tt.call, code, body, tt.want, tt.msg)
		}
	}

	// upload_modules.
	for _, tt := range []struct {
		principal string
		want      int
	}{{"web", http.StatusForbidden}, {"ci", http.StatusBadRequest}} { // ci may upload; the bytes are no module
		req, _ := http.NewRequest(http.MethodPost, tm.url+"/api/v1/modules", strings.NewReader("not wasm"))
		req.Header.Set("Authorization", basic(tt.principal, tt.principal+"-pw"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s uploading a module: %d, want %d", tt.principal, resp.StatusCode, tt.want)
		}
	}
}

// TestViewACLs checks that queries show each principal only what the
// view_* rules grant it, and that sandboxes are read only by those
// view_sandboxes lets in.
func TestViewACLs(t *testing.T) {
	tm := secureMaster(t, `{
	  "register_frameworks": [{"principals": {"values": ["web", "ci"]}, "roles": {"type": "ANY"}}],
	  "register_agents": [{"principals": {"values": ["agent"]}, "agents": {"type": "ANY"}}],
	  "view_frameworks": [{"principals": {"values": ["web"]}, "users": {"values": ["nobody"]}}],
	  "view_tasks": [{"principals": {"values": ["web"]}, "users": {"values": ["nobody"]}}],
	  "view_agents": [{"principals": {"values": ["ops"]}, "agents": {"type": "ANY"}}],
	  "view_sandboxes": [{"principals": {"values": ["web"]}, "users": {"values": ["nobody"]}}]
	}`)
	as := func(p string) { tm.header = []string{"Authorization", basic(p, p+"-pw")} }
	as("agent")
	a := tm.agent(t, "cpus:4;mem:1024")
	as("web")
	web := tm.subscribe(t, api.FrameworkInfo{User: "nobody", Name: "web"})
	as("ci")
	ci := tm.subscribe(t, api.FrameworkInfo{User: "builder", Name: "ci"})

	query := func(p, call string) api.OperatorResponse {
		t.Helper()
		as(p)
		code, body := tm.status(t, "/api/v1", call)
		if code != http.StatusOK {
			t.Fatalf("%s %s: %d %s", p, call, code, body)
		}
		var r api.OperatorResponse
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	names := func(r *api.GetFrameworksResponse) (out []string) {
		if r != nil {
			for _, f := range r.Frameworks {
				out = append(out, f.FrameworkInfo.Name)
			}
		}
		return out
	}
	if got := names(query("web", `{"type":"GET_FRAMEWORKS"}`).GetFrameworks); len(got) != 1 || got[0] != "web" {
		t.Errorf("web sees frameworks %v, want only web", got)
	}
	if got := names(query("ci", `{"type":"GET_FRAMEWORKS"}`).GetFrameworks); len(got) != 0 {
		t.Errorf("ci sees frameworks %v, want none", got)
	}
	st := query("web", `{"type":"GET_STATE"}`).GetState
	if st == nil || len(names(st.GetFrameworks)) != 1 || (st.GetAgents != nil && len(st.GetAgents.Agents) != 0) {
		t.Errorf("web's GET_STATE: %+v", st)
	}
	if r := query("ops", `{"type":"GET_AGENTS"}`).GetAgents; r == nil || len(r.Agents) != 1 || r.Agents[0].AgentInfo.ID.Value != a.id {
		t.Errorf("ops sees agents %+v, want the one", r)
	}
	if r := query("web", `{"type":"GET_AGENTS"}`).GetAgents; r != nil && len(r.Agents) != 0 {
		t.Errorf("web sees agents %+v, want none", r.Agents)
	}

	as("web")
	for _, tt := range []struct {
		fid       string
		forbidden bool
	}{{ci.id, true}, {web.id, false}} {
		req, _ := http.NewRequest(http.MethodGet, tm.url+"/agents/"+a.id+"/files/read?path=/"+tt.fid+"/x/stdout&offset=0", nil)
		req.Header.Set("Authorization", basic("web", "web-pw"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if (resp.StatusCode == http.StatusForbidden) != tt.forbidden {
			t.Errorf("web reading framework %s's sandbox: %d, want forbidden=%v", tt.fid, resp.StatusCode, tt.forbidden)
		}
	}
}

// TestRootNeedsExplicitGrant launches native code as root, and as the
// agent's default user, under ACLs that grant root by name, grant
// everything but not by name, and with no ACLs at all: only the named
// grant lets root through; the others answer TASK_ERROR naming why.
func TestRootNeedsExplicitGrant(t *testing.T) {
	const anyUser = `{"register_agents": [{"principals": {"type": "ANY"}, "agents": {"type": "ANY"}}],
	  "register_frameworks": [{"principals": {"type": "ANY"}, "roles": {"type": "ANY"}}],
	  "run_tasks": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}, "native": true}]}`
	const namedRoot = `{"register_agents": [{"principals": {"type": "ANY"}, "agents": {"type": "ANY"}}],
	  "register_frameworks": [{"principals": {"type": "ANY"}, "roles": {"type": "ANY"}}],
	  "run_tasks": [{"principals": {"values": ["web"]}, "users": {"values": ["root"]}, "native": true},
	                {"principals": {"type": "ANY"}, "users": {"type": "ANY"}, "native": true}]}`
	asRootCmd := func(ti *api.TaskInfo) { ti.Command.User = "root" }
	rootCheck := func(ti *api.TaskInfo) {
		ti.Command.User = "nobody"
		ti.HealthCheck = &api.HealthCheck{Type: "COMMAND", Command: &api.CommandInfo{Value: "true"}}
	}
	customAsRoot := func(ti *api.TaskInfo) {
		ti.Command = nil
		ti.Executor = &api.ExecutorInfo{Type: api.ExecutorCustom, ExecutorID: api.ExecutorID{Value: "x"},
			Command: &api.CommandInfo{Value: "true", User: "root"}}
	}
	tests := []struct {
		name     string
		acls     string // "" with secure false: no authentication, no ACLs
		secure   bool
		fwUser   string
		task     func(*api.TaskInfo)
		refused  bool
		errorHas string
	}{
		{name: "no ACLs, command as root", task: asRootCmd, refused: true, errorHas: "no ACLs are configured"},
		{name: "no ACLs, framework user root", fwUser: "root", task: func(*api.TaskInfo) {}, refused: true, errorHas: "Task may not run as root"},
		{name: "no ACLs, custom executor as root", task: customAsRoot, refused: true, errorHas: "Task may not run as root"},
		{name: "no ACLs, a COMMAND check as nobody", fwUser: "root", task: rootCheck},
		{name: "no ACLs, default user", task: func(*api.TaskInfo) {}},
		{name: "no ACLs, nobody", task: func(ti *api.TaskInfo) { ti.Command.User = "nobody" }},
		{name: "ANY is not a grant of root", acls: anyUser, secure: true, task: asRootCmd, refused: true, errorHas: `no rule of run_tasks names users "root"`},
		{name: "root named for web", acls: namedRoot, secure: true, task: asRootCmd},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tm *testMaster
			if tt.secure {
				tm = secureMaster(t, tt.acls)
				tm.header = []string{"Authorization", basic("agent", "agent-pw")}
			} else {
				tm = startMaster(t)
			}
			tm.agent(t, "cpus:4;mem:1024")
			if tt.secure {
				tm.header = []string{"Authorization", basic("web", "web-pw")}
			}
			f := tm.subscribe(t, api.FrameworkInfo{User: tt.fwUser, Name: "n"})
			o := f.offer()
			ti := commandTask("t", o, 0.1, 32)
			tt.task(&ti)
			f.mustCall(launch(o, ti))
			tm.Master.mu.Lock()
			_, launched := tm.Master.frameworks[f.id].tasks["t"]
			tm.Master.mu.Unlock()
			if !tt.refused {
				if !launched {
					t.Fatalf("task not launched: %+v", f.update("t"))
				}
				return
			}
			st := f.update("t")
			if st.State != api.TaskError || st.Reason != api.ReasonTaskUnauthorized || !strings.Contains(st.Message, tt.errorHas) {
				t.Fatalf("update %s %s %q, want TASK_ERROR REASON_TASK_UNAUTHORIZED with %q", st.State, st.Reason, st.Message, tt.errorHas)
			}
			if launched {
				t.Fatal("a refused task was recorded")
			}
		})
	}
}
