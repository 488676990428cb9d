package master

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
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
	checked := commandTask("checked", o, 0.1, 32)
	checked.Container = &api.ContainerInfo{Type: api.ContainerWasm, Wasm: &api.WasmInfo{SHA256: strings.Repeat("a", 64)}}
	checked.Command = nil
	checked.HealthCheck = &api.HealthCheck{Type: "COMMAND", Command: &api.CommandInfo{Value: "id"}}
	if code, body := f.call(launch(o, checked)); code != http.StatusForbidden || !strings.Contains(body, "allows Wasm tasks only") {
		t.Fatalf("a Wasm task with a command check: %d %s", code, body)
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
	// The path is read as the agent reads it: "." and empty elements do
	// not hide the framework, and ".." is refused, since "/web/../ci"
	// names web and reaches ci.
	for _, tt := range []struct {
		path    string
		refused int // 0: let through to the agent
	}{
		{"/" + ci.id + "/x/stdout", http.StatusForbidden},
		{"/" + web.id + "/x/stdout", 0},
		{"./" + ci.id + "/x/stdout", http.StatusForbidden},
		{"//" + ci.id + "/x/stdout", http.StatusForbidden},
		{"/" + web.id + "/../" + ci.id + "/x/stdout", http.StatusBadRequest},
		{web.id + "/..", http.StatusBadRequest},
	} {
		req, _ := http.NewRequest(http.MethodGet, tm.url+"/agents/"+a.id+"/files/read?"+url.Values{"path": {tt.path}, "offset": {"0"}}.Encode(), nil)
		req.Header.Set("Authorization", basic("web", "web-pw"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if tt.refused != 0 && resp.StatusCode != tt.refused || tt.refused == 0 && (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusBadRequest) {
			t.Errorf("web reading %q: %d, want %d (0: past the master)", tt.path, resp.StatusCode, tt.refused)
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

// TestRecoveredFrameworkPrincipal checks who may subscribe as a framework
// a restarted master knows only from an agent's report: the principal the
// agent reports for it, and with authentication on nobody when the agent
// reports none, since knowing a framework's ID is no proof of owning it.
func TestRecoveredFrameworkPrincipal(t *testing.T) {
	tests := []struct {
		name     string
		reported []api.FrameworkInfo // the agent's AgentSubscribe.Frameworks
		as       string              // the principal that subscribes
		refused  string              // in the 403's body; "" when admitted
	}{
		{name: "another principal", as: "ci",
			reported: []api.FrameworkInfo{{ID: &api.FrameworkID{Value: "victim-fw"}, Principal: "web"}},
			refused:  `Principal "ci" may not subscribe as framework victim-fw of principal "web"`},
		{name: "principal unknown", as: "ci",
			refused: `Framework victim-fw was recovered from its agents without a principal`},
		{name: "another framework's principal", as: "web",
			reported: []api.FrameworkInfo{{ID: &api.FrameworkID{Value: "other-fw"}, Principal: "web"}},
			refused:  `without a principal`},
		{name: "its own principal", as: "web",
			reported: []api.FrameworkInfo{{ID: &api.FrameworkID{Value: "victim-fw"}, Principal: "web"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm := secureMaster(t, "")
			tm.header = []string{"Authorization", basic("agent", "agent-pw")}
			res, _ := api.ParseResources("cpus:2;mem:1024")
			resp := tm.post(t, "/api/v1/agent", api.AgentCall{Type: api.AgentCallSubscribe, AgentID: &api.AgentID{Value: "old-S0"},
				Subscribe: &api.AgentSubscribe{
					AgentInfo: api.AgentInfo{ID: &api.AgentID{Value: "old-S0"}, Hostname: "127.0.0.1", Port: 5051, Resources: res},
					Tasks: []api.Task{{TaskID: api.TaskID{Value: "victim-task"}, FrameworkID: api.FrameworkID{Value: "victim-fw"},
						State: api.TaskRunning, Resources: []api.Resource{scalar("cpus", 1)}}},
					Frameworks: tt.reported,
				}})
			ag := openStream[api.AgentEvent](t, resp)
			ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventSubscribed })

			tm.header = []string{"Authorization", basic(tt.as, tt.as+"-pw")}
			info := api.FrameworkInfo{User: "u", Name: "claimant", ID: &api.FrameworkID{Value: "victim-fw"}}
			if tt.refused != "" {
				// Not tm.status: an admitted subscription's stream does not end.
				resp := tm.post(t, "/api/v1/scheduler", api.Call{Type: api.CallSubscribe, FrameworkID: info.ID,
					Subscribe: &api.Subscribe{FrameworkInfo: info}})
				defer resp.Body.Close()
				if resp.StatusCode != http.StatusForbidden {
					t.Fatalf("%s subscribing as the recovered framework: %s, want 403", tt.as, resp.Status)
				}
				if body, _ := io.ReadAll(resp.Body); !strings.Contains(string(body), tt.refused) {
					t.Fatalf("%s subscribing as the recovered framework: 403 %s, want %q", tt.as, body, tt.refused)
				}
				tm.mu.Lock()
				defer tm.mu.Unlock()
				if f := tm.frameworks["victim-fw"]; f == nil || !f.recovered || f.connected() {
					t.Fatalf("the recovered framework was taken over: %+v", f)
				}
				return
			}
			fw := tm.subscribe(t, info)
			fw.mustCall(api.Call{Type: api.CallKill, Kill: &api.Kill{TaskID: api.TaskID{Value: "victim-task"}}})
			if ev := ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventKill }); ev.Kill.TaskID.Value != "victim-task" {
				t.Fatalf("KILL of %s, want victim-task", ev.Kill.TaskID.Value)
			}
		})
	}
}

// viewACLs let web see the frameworks and tasks of user nobody, ops see
// agents, and let ops kill web's tasks.
const viewACLs = `{
  "register_frameworks": [{"principals": {"values": ["web", "ci"]}, "roles": {"type": "ANY"}}],
  "run_tasks": [{"principals": {"values": ["web", "ci"]}, "users": {"type": "ANY"}, "native": true}],
  "register_agents": [{"principals": {"values": ["agent"]}, "agents": {"type": "ANY"}}],
  "view_frameworks": [{"principals": {"values": ["web"]}, "users": {"values": ["nobody"]}}],
  "view_tasks": [{"principals": {"values": ["web"]}, "users": {"values": ["nobody"]}}],
  "view_agents": [{"principals": {"values": ["ops"]}, "agents": {"type": "ANY"}}],
  "kill_tasks": [{"principals": {"values": ["ops"]}, "framework_principals": {"values": ["web"]}}]
}`

// TestViewACLsEventStream checks that the operator SUBSCRIBE stream, like
// the queries, carries only what each principal's view ACLs grant: its
// snapshot and every later event. "Does not see" is checked by order: an
// event the principal may see follows one it may not, and must come
// first.
func TestViewACLsEventStream(t *testing.T) {
	tm := secureMaster(t, viewACLs)
	as := func(p string) []string { return []string{"Authorization", basic(p, p+"-pw")} }
	tm.header = as("ci")
	ci := tm.subscribe(t, api.FrameworkInfo{User: "builder", Name: "ci"})

	watch := func(p string) *eventStream[api.OperatorEvent] {
		return openStream[api.OperatorEvent](t, tm.post(t, "/api/v1", api.OperatorCall{Type: api.OperatorSubscribe}, as(p)...))
	}
	web, ops := watch("web"), watch("ops")
	first := func(s *eventStream[api.OperatorEvent]) *api.GetStateResponse {
		ev := s.next(func(api.OperatorEvent) bool { return true })
		if ev.Type != api.OperatorEventSubscribed {
			t.Fatalf("first event %s", ev.Type)
		}
		return ev.Subscribed.GetState
	}
	if st := first(web); st.GetFrameworks != nil && len(st.GetFrameworks.Frameworks) != 0 {
		t.Errorf("web's snapshot shows ci's framework: %+v", st.GetFrameworks.Frameworks)
	}
	first(ops)

	tm.header = as("agent")
	ag := tm.agent(t, "cpus:4;mem:1024")
	tm.header = as("web")
	wf := tm.subscribe(t, api.FrameworkInfo{User: "nobody", Name: "web"})
	kinds := func(ev api.OperatorEvent) bool {
		return ev.Type == api.OperatorEventAgentAdded || ev.Type == api.OperatorEventFrameworkAdded
	}
	if ev := web.next(kinds); ev.Type != api.OperatorEventFrameworkAdded || ev.FrameworkAdded.Framework.FrameworkInfo.Name != "web" {
		t.Errorf("web's stream: %s first, want FRAMEWORK_ADDED of web (no AGENT_ADDED)", ev.Type)
	}
	if ev := ops.next(kinds); ev.Type != api.OperatorEventAgentAdded || ev.AgentAdded.Agent.AgentInfo.ID.Value != ag.id {
		t.Errorf("ops's stream: %s first, want AGENT_ADDED", ev.Type)
	}

	// Tasks: ci's first, then web's; web must see web's first.
	tm.header = as("ci")
	o := ci.offer()
	ci.mustCall(launch(o, commandTask("ci-task", o, 0.5, 64)))
	tm.header = as("web")
	o = wf.offer()
	wf.mustCall(launch(o, commandTask("web-task", o, 0.5, 64)))
	if ev := web.next(func(ev api.OperatorEvent) bool { return ev.Type == api.OperatorEventTaskAdded }); ev.TaskAdded.Task.TaskID.Value != "web-task" {
		t.Errorf("web's stream: TASK_ADDED of %s first, want web-task", ev.TaskAdded.Task.TaskID.Value)
	}
	tm.header = as("agent")
	ag.send(ci.id, "ci-task", api.TaskRunning, 1)
	ag.send(wf.id, "web-task", api.TaskRunning, 2)
	if ev := web.next(func(ev api.OperatorEvent) bool { return ev.Type == api.OperatorEventTaskUpdated }); ev.TaskUpdated.Status.TaskID.Value != "web-task" {
		t.Errorf("web's stream: TASK_UPDATED of %s first, want web-task", ev.TaskUpdated.Status.TaskID.Value)
	}
	// ops sees agents only: its next framework or task event never comes
	// before the agent it sees next.
	tm.header = as("agent")
	tm.agent(t, "cpus:1;mem:128")
	if ev := ops.next(func(ev api.OperatorEvent) bool {
		return ev.Type != api.OperatorEventHeartbeat
	}); ev.Type != api.OperatorEventAgentAdded {
		t.Errorf("ops's stream: %s, want only AGENT_ADDED", ev.Type)
	}
}

// TestConsoleCallsACLs checks the in-process seam the console uses: the
// principal in the context is held to the same ACLs as over HTTP, for
// queries (filtered), writes (403 naming the permission), KILL_TASK
// (kill_tasks), modules (upload_modules) and files (view_sandboxes).
func TestConsoleCallsACLs(t *testing.T) {
	tm := secureMaster(t, viewACLs)
	as := func(p string) context.Context { return auth.WithPrincipal(context.Background(), p) }
	tm.header = []string{"Authorization", basic("agent", "agent-pw")}
	ag := tm.agent(t, "cpus:4;mem:1024")
	tm.header = []string{"Authorization", basic("web", "web-pw")}
	wf := tm.subscribe(t, api.FrameworkInfo{User: "nobody", Name: "web"})
	o := wf.offer()
	wf.mustCall(launch(o, commandTask("t1", o, 0.5, 64)))
	tm.header = []string{"Authorization", basic("agent", "agent-pw")}
	ag.send(wf.id, "t1", api.TaskRunning, 1)

	tasks := func(p string) int {
		r, err := tm.Call(as(p), &api.OperatorCall{Type: api.OperatorGetState})
		if err != nil {
			t.Fatalf("%s GET_STATE: %v", p, err)
		}
		return len(r.GetState.GetTasks.Tasks) + len(r.GetState.GetAgents.Agents)
	}
	if n := tasks("web"); n != 1 {
		t.Errorf("web sees %d tasks and agents, want its task only", n)
	}
	if n := tasks("ci"); n != 0 {
		t.Errorf("ci sees %d tasks and agents, want none", n)
	}
	kill := &api.OperatorCall{Type: api.OperatorKillTask, KillTask: &api.KillTask{FrameworkID: api.FrameworkID{Value: wf.id}, TaskID: api.TaskID{Value: "t1"}}}
	for _, tt := range []struct {
		principal string
		call      *api.OperatorCall
		code      int
		msg       string
	}{
		{"web", kill, http.StatusForbidden, `may not kill_tasks (framework_principals "web")`},
		{"ci", &api.OperatorCall{Type: api.OperatorDrainAgent, DrainAgent: &api.DrainAgent{AgentID: api.AgentID{Value: ag.id}}}, http.StatusForbidden, "may not drain_agents"},
		{"ops", &api.OperatorCall{Type: api.OperatorKillTask, KillTask: &api.KillTask{FrameworkID: api.FrameworkID{Value: wf.id}}}, http.StatusBadRequest, "kill_task.task_id"},
		{"ops", &api.OperatorCall{Type: api.OperatorKillTask, KillTask: &api.KillTask{FrameworkID: api.FrameworkID{Value: wf.id}, TaskID: api.TaskID{Value: "nope"}}}, http.StatusBadRequest, "has no task"},
	} {
		_, err := tm.Call(as(tt.principal), tt.call)
		if !isCallError(err, tt.code) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s %s: %v, want %d with %q", tt.principal, tt.call.Type, err, tt.code, tt.msg)
		}
	}
	if _, err := tm.Call(as("ops"), kill); err != nil {
		t.Fatalf("ops KILL_TASK: %v", err)
	}
	for _, tt := range []struct {
		principal string
		n         int
	}{{"web", 1}, {"ci", 0}} {
		r, err := tm.Call(as(tt.principal), &api.OperatorCall{Type: api.OperatorGetRoles})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, role := range r.GetRoles.Roles {
			n += len(role.Frameworks)
		}
		if n != tt.n {
			t.Errorf("%s sees %d frameworks under roles, want %d", tt.principal, n, tt.n)
		}
	}
	if k := ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventKill }); k.Kill.TaskID.Value != "t1" || k.Kill.FrameworkID.Value != wf.id {
		t.Errorf("agent told to kill %+v", k.Kill)
	}
	if _, err := tm.PutModule(as("web"), []byte("not wasm")); !isCallError(err, http.StatusForbidden) || !strings.Contains(err.Error(), "upload_modules") {
		t.Errorf("web uploading: %v, want 403 naming upload_modules", err)
	}
	if _, err := tm.Files(as("ci"), ag.id, "read", url.Values{"path": {"/" + wf.id + "/x/stdout"}}); !isCallError(err, http.StatusForbidden) || !strings.Contains(err.Error(), "view_sandboxes") {
		t.Errorf("ci reading web's sandbox: %v, want 403 naming view_sandboxes", err)
	}
}

// TestContainersProxy checks usage through the master: GET_CONTAINERS is
// asked of the agent's own port (here an HTTP server answering as an
// agent does) and only the containers of frameworks whose tasks the
// principal may see come back; an unknown agent is a 404.
func TestContainersProxy(t *testing.T) {
	tm := secureMaster(t, viewACLs)
	tm.header = []string{"Authorization", basic("web", "web-pw")}
	wf := tm.subscribe(t, api.FrameworkInfo{User: "nobody", Name: "web"})
	tm.header = []string{"Authorization", basic("ci", "ci-pw")}
	cf := tm.subscribe(t, api.FrameworkInfo{User: "builder", Name: "ci"})

	var asked api.AgentOperatorCall
	agentAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v1" || json.NewDecoder(r.Body).Decode(&asked) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		cpu := api.Float64(1.5)
		json.NewEncoder(w).Encode(api.AgentOperatorResponse{Type: api.OperatorGetContainers, GetContainers: &api.AgentGetContainers{Containers: []api.AgentContainer{
			{FrameworkID: &api.FrameworkID{Value: wf.id}, ContainerID: api.ContainerID{Value: "web-task", Parent: &api.ContainerID{Value: "e1"}},
				ResourceStatistics: &api.ResourceStatistics{CPUsUserTimeSecs: &cpu}},
			{FrameworkID: &api.FrameworkID{Value: cf.id}, ContainerID: api.ContainerID{Value: "ci-task", Parent: &api.ContainerID{Value: "e2"}}},
		}}})
	}))
	t.Cleanup(agentAPI.Close)
	host, port, _ := strings.Cut(strings.TrimPrefix(agentAPI.URL, "http://"), ":")
	p, _ := strconv.Atoi(port)
	tm.header = []string{"Authorization", basic("agent", "agent-pw")}
	s := openStream[api.AgentEvent](t, tm.post(t, "/api/v1/agent", api.AgentCall{Type: api.AgentCallSubscribe, Subscribe: &api.AgentSubscribe{
		AgentInfo: api.AgentInfo{Hostname: host, Port: api.Int64(p), Resources: []api.Resource{scalar("cpus", 1)}}}}))
	agentID := s.next(func(api.AgentEvent) bool { return true }).Subscribed.AgentID.Value

	for _, tt := range []struct {
		principal string
		want      []string
	}{{"web", []string{"web-task"}}, {"ci", nil}} {
		cs, err := tm.Containers(auth.WithPrincipal(context.Background(), tt.principal), agentID)
		if err != nil {
			t.Fatalf("%s: %v", tt.principal, err)
		}
		var got []string
		for _, c := range cs {
			got = append(got, c.ContainerID.Value)
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s sees containers %v, want %v", tt.principal, got, tt.want)
		}
	}
	if asked.Type != api.OperatorGetContainers || asked.GetContainers == nil || !asked.GetContainers.ShowNested {
		t.Errorf("the agent was asked %+v, want GET_CONTAINERS with nested containers", asked)
	}
	if _, err := tm.Containers(context.Background(), "no-such-agent"); !isCallError(err, http.StatusNotFound) {
		t.Errorf("unknown agent: %v, want 404", err)
	}
}

// TestMaintenanceSchedule checks UPDATE_MAINTENANCE_SCHEDULE and its
// queries: a schedule is stored whole and answered back, a bad one is
// refused with 400 and changes nothing, drain_agents decides who may set
// it (403 naming the permission), and view_agents what each sees of it
// and how many machines it does not see.
func TestMaintenanceSchedule(t *testing.T) {
	tm := secureMaster(t, `{
	  "drain_agents": [{"principals": {"values": ["ops"]}, "agents": {"type": "ANY"}},
	                   {"principals": {"values": ["web"]}, "agents": {"values": ["h1"]}}],
	  "view_agents": [{"principals": {"values": ["ops"]}, "agents": {"type": "ANY"}},
	                  {"principals": {"values": ["web"]}, "agents": {"values": ["h1"]}}]
	}`)
	as := func(p string) { tm.header = []string{"Authorization", basic(p, p+"-pw")} }
	window := func(start int64, hosts ...string) api.MaintenanceWindow {
		w := api.MaintenanceWindow{Unavailability: api.Unavailability{Start: api.TimeInfo{Nanoseconds: api.Int64(start)},
			Duration: &api.DurationInfo{Nanoseconds: 3600e9}}}
		for _, h := range hosts {
			w.MachineIDs = append(w.MachineIDs, api.MachineID{Hostname: h})
		}
		return w
	}
	update := func(s api.MaintenanceSchedule) (int, string) {
		code, _, body := tm.operator(t, api.OperatorCall{Type: api.OperatorUpdateMaintenanceSchedule,
			UpdateMaintenanceSchedule: &api.UpdateMaintenanceSchedule{Schedule: s}})
		return code, body
	}
	get := func() []api.MaintenanceWindow {
		code, r, body := tm.operator(t, api.OperatorCall{Type: api.OperatorGetMaintenanceSchedule})
		if code != http.StatusOK || r.GetMaintenanceSchedule == nil {
			t.Fatalf("GET_MAINTENANCE_SCHEDULE: %d %s", code, body)
		}
		return r.GetMaintenanceSchedule.Schedule.Windows
	}
	as("ops")
	good := api.MaintenanceSchedule{Windows: []api.MaintenanceWindow{window(1e18, "h1", "h2"), window(2e18, "h3")}}
	if code, body := update(good); code != http.StatusOK {
		t.Fatalf("ops setting a schedule: %d %s", code, body)
	}
	if w := get(); len(w) != 2 || len(w[0].MachineIDs) != 2 || w[1].MachineIDs[0].Hostname != "h3" || w[1].Unavailability.Start.Nanoseconds != 2e18 {
		t.Fatalf("schedule read back: %+v", w)
	}
	negative := window(1, "h9")
	negative.Unavailability.Duration.Nanoseconds = -1
	for _, tt := range []struct {
		name string
		s    api.MaintenanceSchedule
		msg  string
	}{
		{"machine twice", api.MaintenanceSchedule{Windows: []api.MaintenanceWindow{window(1, "h1"), window(2, "h1")}}, "more than one window"},
		{"no machine", api.MaintenanceSchedule{Windows: []api.MaintenanceWindow{window(1)}}, "names no machine"},
		{"nameless machine", api.MaintenanceSchedule{Windows: []api.MaintenanceWindow{{MachineIDs: []api.MachineID{{}}}}}, "neither hostname nor IP"},
		{"bad ip", api.MaintenanceSchedule{Windows: []api.MaintenanceWindow{{MachineIDs: []api.MachineID{{IP: "300.1.1.1"}}}}}, "not an IP address"},
		{"negative duration", api.MaintenanceSchedule{Windows: []api.MaintenanceWindow{negative}}, "negative duration"},
	} {
		if code, body := update(tt.s); code != http.StatusBadRequest || !strings.Contains(body, tt.msg) {
			t.Errorf("%s: %d %s, want 400 with %q", tt.name, code, body, tt.msg)
		}
	}
	hidden := func() int {
		_, r, _ := tm.operator(t, api.OperatorCall{Type: api.OperatorGetMaintenanceSchedule})
		return r.GetMaintenanceSchedule.HiddenMachines
	}
	if n := hidden(); n != 0 {
		t.Errorf("ops is told %d machines are hidden from it, want 0", n)
	}
	as("web")
	if w := get(); len(w) != 1 || len(w[0].MachineIDs) != 1 || w[0].MachineIDs[0].Hostname != "h1" {
		t.Errorf("web sees %+v, want h1 alone", w)
	}
	// A client editing web's view would drop h2's and h3's windows: the
	// answer says two machines are hidden, so that it can refuse.
	if n := hidden(); n != 2 {
		t.Errorf("web is told %d machines are hidden from it, want 2 (h2, h3)", n)
	}
	// web may drain h1 only, and the schedule it would replace names h2
	// and h3 too.
	if code, body := update(api.MaintenanceSchedule{Windows: []api.MaintenanceWindow{window(1, "h1")}}); code != http.StatusForbidden || !strings.Contains(body, "may not drain_agents") {
		t.Errorf("web replacing ops's schedule: %d %s, want 403", code, body)
	}
	as("ops")
	if w := get(); len(w) != 2 {
		t.Errorf("refused updates changed the schedule: %+v", w)
	}
	if code, body := update(api.MaintenanceSchedule{}); code != http.StatusOK || len(get()) != 0 {
		t.Errorf("clearing the schedule: %d %s", code, body)
	}
}
