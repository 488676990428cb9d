package acl

import (
	"errors"
	"strings"
	"testing"
)

const testACLs = `{
  "register_frameworks": [
    {"principals": {"values": ["banned"]}, "roles": {"type": "NONE"}},
    {"principals": {"values": ["web", "ops"]}, "roles": {"values": ["web"]}},
    {"principals": {"type": "ANY"}, "roles": {"values": ["*"]}}
  ],
  "run_tasks": [
    {"principals": {"values": ["web"]}, "users": {"values": ["nobody"]}},
    {"principals": {"values": ["ops"]}, "users": {"type": "ANY"}, "native": true}
  ],
  "upload_modules": [{"principals": {"values": ["ci"]}}],
  "delete_modules": [{"principals": {"values": ["ops"]}}],
  "update_quota": [{"principals": {"values": ["ops"]}, "roles": {"type": "ANY"}}]
}`

func TestAllow(t *testing.T) {
	a, err := Parse([]byte(testACLs))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		req  Request
		want string // "" allowed, else a piece of the error
	}{
		{Request{"web", RegisterFrameworks, "web", false}, ""},
		{Request{"web", RegisterFrameworks, "*", false}, ""}, // the third rule
		{Request{"web", RegisterFrameworks, "ops", false}, "no rule of register_frameworks grants it"},
		{Request{"banned", RegisterFrameworks, "*", false}, "rule 1 of register_frameworks denies it"},
		{Request{"anyone", RegisterFrameworks, "*", false}, ""},
		{Request{"web", RunTasks, "nobody", false}, ""},
		{Request{"web", RunTasks, "root", false}, `may not run_tasks (users "root")`},
		{Request{"web", RunTasks, "nobody", true}, "allows Wasm tasks only"},
		{Request{"ops", RunTasks, "root", true}, ""},
		{Request{"ci", UploadModules, "", false}, ""},
		{Request{"web", UploadModules, "", false}, `principal "web" may not upload_modules: no rule`},
		{Request{"ops", DeleteModules, "", false}, ""},
		{Request{"ci", DeleteModules, "", false}, `principal "ci" may not delete_modules: no rule`}, // uploading is not deleting
		{Request{"ops", UpdateQuota, "web", false}, ""},
		{Request{"ops", UpdateWeights, "web", false}, "no rule of update_weights"}, // no rules: default deny
		{Request{"", ViewTasks, "nobody", false}, "an unauthenticated client may not view_tasks"},
		{Request{"web", Action("fly"), "", false}, "unknown action"},
	}
	for _, tt := range tests {
		err := a.Allow(tt.req)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%+v: %v, want allowed", tt.req, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%+v: %v, want an error containing %q", tt.req, err, tt.want)
		case err != nil:
			var d *Denied
			if !errors.As(err, &d) || d.Request != tt.req {
				t.Errorf("%+v: %v is not a *Denied of the request", tt.req, err)
			}
		}
	}
}

func TestPermissiveAndNone(t *testing.T) {
	var none *ACLs
	if err := none.Allow(Request{Principal: "x", Action: DrainAgents, Object: "h"}); err != nil {
		t.Fatalf("no ACLs configured: %v", err)
	}
	a, err := Parse([]byte(`{"permissive": true, "drain_agents": [{"principals": {"values": ["intern"]}, "agents": {"type": "NONE"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Allow(Request{Principal: "ops", Action: DrainAgents, Object: "h1"}); err != nil {
		t.Fatalf("permissive, no rule for ops: %v", err)
	}
	if err := a.Allow(Request{Principal: "intern", Action: DrainAgents, Object: "h1"}); err == nil {
		t.Fatal("permissive, but a NONE rule for intern: allowed")
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`[]`, "acls"},
		{`{"register_framework": []}`, `unknown action "register_framework"`},
		{`{"run_tasks": {}}`, "want a list of rules"},
		{`{"run_tasks": [{"users": {"type": "ANY"}}]}`, "needs principals"},
		{`{"run_tasks": [{"principals": {"type": "ANY"}, "roles": {"type": "ANY"}}]}`, `unknown field "roles"`},
		{`{"run_tasks": [{"principals": {"type": "SOMETIMES"}}]}`, "entity type"},
		{`{"run_tasks": [{"principals": {}}]}`, "needs values"},
		{`{"run_tasks": [{"principals": {"type": "ANY", "values": ["a"]}}]}`, "takes no values"},
		{`{"run_tasks": [{"principals": {"type": "ANY", "valuez": ["a"]}}]}`, "valuez"},
		{`{"upload_modules": [{"principals": {"type": "ANY"}, "native": true}]}`, `unknown field "native"`},
		{`{"permissive": "yes"}`, "permissive"},
	} {
		if _, err := Parse([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%s) = %v, want an error containing %q", tt.in, err, tt.want)
		}
	}
}

func TestEveryActionHasAnObjectField(t *testing.T) {
	if len(Actions()) != 15 {
		t.Fatalf("%d actions: %v", len(Actions()), Actions())
	}
	for _, a := range Actions() {
		acls, err := Parse([]byte(`{"` + string(a) + `": [{"principals": {"values": ["p"]}}]}`))
		if err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		if err := acls.Allow(Request{Principal: "p", Action: a, Object: "anything"}); err != nil {
			t.Errorf("%s: a rule without an object allows any object, got %v", a, err)
		}
	}
}

// FuzzParse checks that no ACL file makes parsing or deciding panic, and
// that an empty principal list never grants anything.
func FuzzParse(f *testing.F) {
	f.Add([]byte(testACLs), "web", "web")
	f.Add([]byte(`{"permissive": true}`), "", "")
	f.Fuzz(func(t *testing.T, data []byte, principal, object string) {
		a, err := Parse(data)
		if err != nil {
			return
		}
		for _, act := range Actions() {
			a.Allow(Request{Principal: principal, Action: act, Object: object, Native: len(object)%2 == 0})
		}
	})
}

func TestAllowExplicit(t *testing.T) {
	const rootACLs = `{
	  "permissive": true,
	  "run_tasks": [
	    {"principals": {"values": ["banned"]}, "users": {"type": "NONE"}},
	    {"principals": {"values": ["ops"]}, "users": {"values": ["root"]}, "native": true},
	    {"principals": {"values": ["wasm"]}, "users": {"values": ["root"]}},
	    {"principals": {"type": "ANY"}, "users": {"type": "ANY"}, "native": true}
	  ]
	}`
	a, err := Parse([]byte(rootACLs))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		acls *ACLs
		req  Request
		want string // "" allowed, else a piece of the error
	}{
		{"named", a, Request{"ops", RunTasks, "root", true}, ""},
		{"named, Wasm only", a, Request{"wasm", RunTasks, "root", true}, "allows Wasm tasks only"},
		{"ANY does not name root", a, Request{"web", RunTasks, "root", true}, `no rule of run_tasks names users "root"`},
		{"NONE denies", a, Request{"banned", RunTasks, "root", true}, "rule 1 of run_tasks denies it"},
		{"no ACLs grant nothing", nil, Request{"", RunTasks, "root", true}, "no ACLs are configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.acls.AllowExplicit(tt.req)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("%+v: %v, want allowed", tt.req, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("%+v: %v, want an error containing %q", tt.req, err, tt.want)
			}
		})
	}
}
