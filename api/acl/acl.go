package acl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Action is something a principal asks to do.
type Action string

// The actions, each with the kind of object its rules name.
const (
	RegisterFrameworks Action = "register_frameworks" // roles the framework subscribes with
	RunTasks           Action = "run_tasks"           // users tasks run as (and whether native)
	TeardownFrameworks Action = "teardown_frameworks" // principals of the frameworks torn down
	KillTasks          Action = "kill_tasks"          // principals of the frameworks whose tasks are killed
	ViewFrameworks     Action = "view_frameworks"     // users of the frameworks seen
	ViewTasks          Action = "view_tasks"          // users of the frameworks whose tasks are seen
	ViewAgents         Action = "view_agents"         // hostnames of the agents seen
	ViewSandboxes      Action = "view_sandboxes"      // users of the frameworks whose sandboxes are read
	UploadModules      Action = "upload_modules"      // no object: ANY
	DeleteModules      Action = "delete_modules"      // no object: ANY; modules are shared, so deleting one affects every user of it
	DrainAgents        Action = "drain_agents"        // hostnames of the agents drained
	UpdateQuota        Action = "update_quota"        // roles whose quota changes
	UpdateWeights      Action = "update_weights"      // roles whose weight changes
	RegisterAgents     Action = "register_agents"     // hostnames of the agents that subscribe
	UpdateMasters      Action = "update_masters"      // no object: adding and removing replicated masters
)

// objectField names each action's object in the file.
var objectField = map[Action]string{
	RegisterFrameworks: "roles",
	RunTasks:           "users",
	TeardownFrameworks: "framework_principals",
	KillTasks:          "framework_principals",
	ViewFrameworks:     "users",
	ViewTasks:          "users",
	ViewAgents:         "agents",
	ViewSandboxes:      "users",
	UploadModules:      "modules",
	DeleteModules:      "modules",
	DrainAgents:        "agents",
	UpdateQuota:        "roles",
	UpdateWeights:      "roles",
	RegisterAgents:     "agents",
	UpdateMasters:      "masters",
}

// objectless actions have no object: their rules name principals only.
var objectless = map[Action]bool{UploadModules: true, DeleteModules: true, UpdateMasters: true}

// Actions lists every action, for documentation and tests.
func Actions() []Action {
	out := make([]Action, 0, len(objectField))
	for a := range objectField {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// Entity matches principals or objects, as Mesos's ACL entities do:
// {"values": [...]} matches those, {"type": "ANY"} everything, {"type":
// "NONE"} nothing (a rule whose object is NONE denies its principals the
// action on every object).
type Entity struct {
	Type   string   `json:"type,omitempty"` // ANY, NONE, or SOME (the default with values)
	Values []string `json:"values,omitempty"`
}

func (e Entity) check() error {
	switch e.Type {
	case "", "SOME":
		if len(e.Values) == 0 {
			return errors.New("an entity needs values, or a type of ANY or NONE")
		}
	case "ANY", "NONE":
		if len(e.Values) > 0 {
			return fmt.Errorf("an entity of type %s takes no values", e.Type)
		}
	default:
		return fmt.Errorf("entity type %q: want ANY, NONE or SOME", e.Type)
	}
	return nil
}

func (e Entity) matches(v string) bool {
	switch e.Type {
	case "ANY":
		return true
	case "NONE":
		return false
	}
	return slices.Contains(e.Values, v)
}

// rule is one entry of an action's list.
type rule struct {
	principals Entity
	object     Entity
	native     bool // run_tasks: native tasks allowed too
}

// ACLs is a parsed ACL file.
type ACLs struct {
	permissive bool
	rules      map[Action][]rule
}

// Parse reads an ACL file:
//
//	{
//	  "permissive": false,
//	  "register_frameworks": [{"principals": {"values": ["web"]}, "roles": {"values": ["web"]}}],
//	  "run_tasks": [{"principals": {"values": ["web"]}, "users": {"values": ["nobody"]}, "native": true}],
//	  "view_tasks": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}]
//	}
//
// Unknown actions and fields are errors: a misspelt action would
// otherwise deny silently (or, worse, leave something open).
func Parse(data []byte) (*ACLs, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("acls: %w", err)
	}
	a := &ACLs{rules: map[Action][]rule{}}
	for key, msg := range raw {
		if key == "permissive" {
			if err := json.Unmarshal(msg, &a.permissive); err != nil {
				return nil, fmt.Errorf("acls: permissive: %w", err)
			}
			continue
		}
		action := Action(key)
		field, ok := objectField[action]
		if !ok {
			return nil, fmt.Errorf("acls: unknown action %q", key)
		}
		var entries []map[string]json.RawMessage
		if err := json.Unmarshal(msg, &entries); err != nil {
			return nil, fmt.Errorf("acls: %s: want a list of rules: %w", key, err)
		}
		for i, e := range entries {
			r, err := parseRule(action, field, e)
			if err != nil {
				return nil, fmt.Errorf("acls: %s[%d]: %w", key, i, err)
			}
			a.rules[action] = append(a.rules[action], r)
		}
	}
	return a, nil
}

func parseRule(action Action, field string, e map[string]json.RawMessage) (rule, error) {
	r := rule{object: Entity{Type: "ANY"}}
	for k, v := range e {
		var err error
		switch {
		case k == "principals":
			err = decodeStrict(v, &r.principals)
		case k == field && !objectless[action]:
			r.object = Entity{} // replaces the default of ANY
			err = decodeStrict(v, &r.object)
		case k == "native" && action == RunTasks:
			err = json.Unmarshal(v, &r.native)
		default:
			return rule{}, fmt.Errorf("unknown field %q (a %s rule has principals and %s)", k, action, field)
		}
		if err != nil {
			return rule{}, fmt.Errorf("%s: %w", k, err)
		}
	}
	if e["principals"] == nil {
		return rule{}, errors.New("a rule needs principals")
	}
	if err := r.principals.check(); err != nil {
		return rule{}, fmt.Errorf("principals: %w", err)
	}
	if err := r.object.check(); err != nil {
		return rule{}, fmt.Errorf("%s: %w", field, err)
	}
	return r, nil
}

func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// Request is what is asked: a principal ("" for an unauthenticated
// client) wants to do Action on Object.
type Request struct {
	Principal string
	Action    Action
	Object    string
	// Native is set for run_tasks of a native (non-Wasm) task.
	Native bool
}

// Denied is the error for a refused request; its message names the
// missing permission, for the 403 body.
type Denied struct {
	Request
	Reason string
}

func (d *Denied) Error() string {
	who := fmt.Sprintf("principal %q", d.Principal)
	if d.Principal == "" {
		who = "an unauthenticated client"
	}
	what := string(d.Action)
	if f := objectField[d.Action]; !objectless[d.Action] {
		what += fmt.Sprintf(" (%s %q)", f, d.Object)
	}
	return fmt.Sprintf("permission denied: %s may not %s: %s", who, what, d.Reason)
}

// Allow returns nil if the ACLs grant the request and a *Denied saying
// why not otherwise. Nil ACLs (none configured) allow everything: that is
// the open mode mezzo dev and --insecure run in.
func (a *ACLs) Allow(req Request) error {
	if a == nil {
		return nil
	}
	if _, ok := objectField[req.Action]; !ok {
		return &Denied{Request: req, Reason: "unknown action"}
	}
	for i, r := range a.rules[req.Action] {
		if !r.principals.matches(req.Principal) {
			continue
		}
		if r.object.Type == "NONE" {
			return &Denied{Request: req, Reason: fmt.Sprintf("rule %d of %s denies it", i+1, req.Action)}
		}
		if !r.object.matches(req.Object) {
			continue
		}
		if req.Native && !r.native {
			return &Denied{Request: req, Reason: fmt.Sprintf("rule %d of %s allows Wasm tasks only (\"native\": true allows native ones)", i+1, req.Action)}
		}
		return nil
	}
	if a.permissive {
		return nil
	}
	return &Denied{Request: req, Reason: fmt.Sprintf("no rule of %s grants it", req.Action)}
}

// AllowExplicit is Allow for what must be granted by name, such as
// running tasks as root: only a rule that names req.Object among its
// values grants it. A rule whose object is ANY does not, "permissive"
// does not, and nil ACLs (none configured) grant nothing, so that no
// catch-all written for ordinary users, and no open mode, hands out root.
// A matching rule whose object is NONE denies, as in Allow.
func (a *ACLs) AllowExplicit(req Request) error {
	if a == nil {
		return &Denied{Request: req, Reason: fmt.Sprintf("no ACLs are configured, and %s %q needs a %s rule that names it", objectField[req.Action], req.Object, req.Action)}
	}
	for i, r := range a.rules[req.Action] {
		if !r.principals.matches(req.Principal) {
			continue
		}
		if r.object.Type == "NONE" {
			return &Denied{Request: req, Reason: fmt.Sprintf("rule %d of %s denies it", i+1, req.Action)}
		}
		if r.object.Type == "ANY" || !r.object.matches(req.Object) {
			continue
		}
		if req.Native && !r.native {
			return &Denied{Request: req, Reason: fmt.Sprintf("rule %d of %s allows Wasm tasks only (\"native\": true allows native ones)", i+1, req.Action)}
		}
		return nil
	}
	return &Denied{Request: req, Reason: fmt.Sprintf("no rule of %s names %s %q (a rule with ANY or \"permissive\" does not grant it)", req.Action, objectField[req.Action], req.Object)}
}
