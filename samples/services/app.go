package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/mezzo-cluster/mezzo/api"
)

// App is a long-running service as a user defines it, in Marathon's
// spirit: how many instances, what each runs, with what resources, how
// its health is checked, where it may run, and how a restart rolls.
type App struct {
	ID        string `json:"id"`
	Instances int    `json:"instances"`
	// Command runs under /bin/sh -c; Module (a stored Wasm module's
	// SHA-256) runs with Args. Exactly one is set.
	Command string   `json:"command,omitempty"`
	Module  string   `json:"module,omitempty"`
	Args    []string `json:"args,omitempty"`
	CPUs    float64  `json:"cpus,omitempty"`
	Mem     float64  `json:"mem,omitempty"`
	// HealthCheck is a Mesos health check, run by the agent. An app with
	// one counts an instance healthy once the check says so; without,
	// once it runs.
	HealthCheck *api.HealthCheck `json:"health_check,omitempty"`
	// Constraints restrict placement, as Marathon's do: each is
	// [field, operator] or [field, operator, value], the field being
	// "hostname" or an agent attribute; see parseConstraint.
	Constraints [][]string `json:"constraints,omitempty"`
	// MinimumHealthCapacity (0–1, default 1) is the share of Instances
	// that must stay healthy during a rolling restart;
	// MaximumOverCapacity (0–1, default 1) the share of Instances that
	// may run on top of them meanwhile.
	MinimumHealthCapacity *float64 `json:"minimum_health_capacity,omitempty"`
	MaximumOverCapacity   *float64 `json:"maximum_over_capacity,omitempty"`
}

var appID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
var moduleHash = regexp.MustCompile(`^[0-9a-f]{64}$`)

// validate checks an app and returns its constraints, parsed.
func (a *App) validate() ([]constraint, error) {
	if !appID.MatchString(a.ID) {
		return nil, fmt.Errorf("app id %q: want 1–63 of a-z, 0-9, '-', '_', starting with a letter or digit", a.ID)
	}
	if a.Instances < 0 || a.Instances > 10_000 {
		return nil, fmt.Errorf("app %s: instances must be between 0 and 10000", a.ID)
	}
	if (a.Command == "") == (a.Module == "") {
		return nil, fmt.Errorf("app %s: give exactly one of 'command' and 'module'", a.ID)
	}
	if a.Module != "" && !moduleHash.MatchString(a.Module) {
		return nil, fmt.Errorf("app %s: 'module' must be a module's lowercase hex SHA-256", a.ID)
	}
	if a.Command != "" && len(a.Args) > 0 {
		return nil, fmt.Errorf("app %s: 'args' go with a module; put a command's arguments in the command", a.ID)
	}
	if a.CPUs < 0 || a.Mem < 0 || math.IsNaN(a.CPUs) || math.IsNaN(a.Mem) {
		return nil, fmt.Errorf("app %s: cpus and mem must be ≥ 0", a.ID)
	}
	m, o := a.capacities()
	if m < 0 || m > 1 || o < 0 || o > 1 || math.IsNaN(m) || math.IsNaN(o) {
		return nil, fmt.Errorf("app %s: minimum_health_capacity and maximum_over_capacity must lie between 0 and 1", a.ID)
	}
	if m == 1 && o == 0 {
		return nil, fmt.Errorf("app %s: with minimum_health_capacity 1 and maximum_over_capacity 0 a restart could neither stop an old instance nor start a new one", a.ID)
	}
	if hc := a.HealthCheck; hc != nil {
		switch {
		case hc.Type == "COMMAND" && hc.Command != nil && hc.Command.Value != "":
		case hc.Type == "HTTP" && hc.HTTP != nil:
		case hc.Type == "TCP" && hc.TCP != nil:
		default:
			return nil, fmt.Errorf("app %s: health_check needs a type (COMMAND, HTTP or TCP) and its matching object", a.ID)
		}
	}
	var cs []constraint
	for _, c := range a.Constraints {
		pc, err := parseConstraint(c)
		if err != nil {
			return nil, fmt.Errorf("app %s: %w", a.ID, err)
		}
		cs = append(cs, pc)
	}
	return cs, nil
}

// capacities returns the rolling-restart bounds with Marathon's defaults.
func (a *App) capacities() (minHealthy, overCapacity float64) {
	minHealthy, overCapacity = 1, 1
	if a.MinimumHealthCapacity != nil {
		minHealthy = *a.MinimumHealthCapacity
	}
	if a.MaximumOverCapacity != nil {
		overCapacity = *a.MaximumOverCapacity
	}
	return minHealthy, overCapacity
}

// resources is what one instance needs.
func (a *App) resources() api.Resources {
	cpus, mem := a.CPUs, a.Mem
	if cpus == 0 {
		cpus = 0.1
	}
	if mem == 0 {
		mem = 32
	}
	return api.Resources{api.ScalarResource("cpus", cpus), api.ScalarResource("mem", mem)}
}

// decodeApp reads one app definition, refusing unknown fields: a typo in
// a field name would otherwise silently change the service.
func decodeApp(r io.Reader) (App, error) {
	var a App
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return App{}, fmt.Errorf("app definition: %w", err)
	}
	if dec.More() {
		return App{}, errors.New("app definition: more than one JSON value")
	}
	_, err := a.validate()
	return a, err
}

// constraint is one placement rule.
type constraint struct {
	field, op string
	value     string
	re        *regexp.Regexp // LIKE, UNLIKE
	max       int            // MAX_PER
}

// parseConstraint reads Marathon's constraint forms:
//
//	["hostname", "UNIQUE"]          at most one instance per value
//	["rack", "CLUSTER", "r1"]       only where the field is r1
//	["rack", "CLUSTER"]             all where the first instance went
//	["rack", "LIKE", "r[12]"]       only where the field matches
//	["rack", "UNLIKE", "r3"]        only where it does not
//	["rack", "MAX_PER", "2"]        at most 2 instances per value
//
// LIKE and UNLIKE patterns match the whole value.
func parseConstraint(c []string) (constraint, error) {
	if len(c) < 2 || len(c) > 3 || c[0] == "" {
		return constraint{}, fmt.Errorf("constraint %q: want [field, operator] or [field, operator, value]", c)
	}
	pc := constraint{field: c[0], op: c[1]}
	if len(c) == 3 {
		pc.value = c[2]
	}
	switch pc.op {
	case "UNIQUE":
		if len(c) != 2 {
			return constraint{}, fmt.Errorf("constraint %q: UNIQUE takes no value", c)
		}
	case "CLUSTER":
	case "LIKE", "UNLIKE":
		if len(c) != 3 {
			return constraint{}, fmt.Errorf("constraint %q: %s needs a pattern", c, pc.op)
		}
		re, err := regexp.Compile("^(?:" + pc.value + ")$")
		if err != nil {
			return constraint{}, fmt.Errorf("constraint %q: %w", c, err)
		}
		pc.re = re
	case "MAX_PER":
		n, err := strconv.Atoi(pc.value)
		if len(c) != 3 || err != nil || n < 1 {
			return constraint{}, fmt.Errorf("constraint %q: MAX_PER needs a count ≥ 1", c)
		}
		pc.max = n
	default:
		return constraint{}, fmt.Errorf("constraint %q: unknown operator %q (UNIQUE, CLUSTER, LIKE, UNLIKE, MAX_PER)", c, pc.op)
	}
	return pc, nil
}

// fieldOf returns an offer's value for a constraint field: its hostname,
// or an attribute's text, scalar, set or ranges value as the agent syntax
// prints it. ok is false when the agent lacks the attribute.
func fieldOf(field, hostname string, attrs []api.Attribute) (string, bool) {
	if field == "hostname" {
		return hostname, true
	}
	for _, a := range attrs {
		if a.Name == field {
			_, v, _ := strings.Cut(api.FormatAttributes([]api.Attribute{a}), ":")
			return v, true
		}
	}
	return "", false
}

// allows reports whether an instance may go where field has value v (ok
// false: the agent lacks the field), given the values of the field where
// the app's other instances run.
func (c constraint) allows(v string, ok bool, others []string) bool {
	if !ok {
		return c.op == "UNLIKE" // lacking the field is unlike anything
	}
	switch c.op {
	case "UNIQUE":
		for _, o := range others {
			if o == v {
				return false
			}
		}
		return true
	case "CLUSTER":
		if c.value != "" {
			return v == c.value
		}
		return len(others) == 0 || others[0] == v
	case "LIKE":
		return c.re.MatchString(v)
	case "UNLIKE":
		return !c.re.MatchString(v)
	case "MAX_PER":
		n := 0
		for _, o := range others {
			if o == v {
				n++
			}
		}
		return n < c.max
	}
	return false
}

func (c constraint) String() string {
	if c.value == "" {
		return c.field + " " + c.op
	}
	return c.field + " " + c.op + " " + c.value
}
