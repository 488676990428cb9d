package master

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// FuzzDispatch feeds arbitrary scheduler calls to a master with a
// subscribed framework and an agent that holds offers, checking that no
// call, however odd, panics or leaves the agent's books inconsistent.
func FuzzDispatch(f *testing.F) {
	// Each seed names the framework: DecodeCall refuses a call without
	// framework_id, and the call would never reach dispatch.
	for _, seed := range []string{
		`{"type":"ACCEPT","framework_id":{"value":"FW"},"accept":{"offer_ids":[{"value":"OFFER"}],"operations":[{"type":"LAUNCH","launch":{"task_infos":[{"name":"t","task_id":{"value":"t"},"agent_id":{"value":"AGENT"},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":1}}],"command":{"value":"true"}}]}}]}}`,
		`{"type":"ACCEPT","framework_id":{"value":"FW"},"accept":{"offer_ids":[{"value":"OFFER"},{"value":"OFFER"}]}}`,
		`{"type":"ACCEPT","framework_id":{"value":"FW"},"accept":{"offer_ids":[{"value":"OFFER"}],"operations":[{"type":"LAUNCH_GROUP","launch_group":{"executor":{"executor_id":{"value":"e"}},"task_group":{"tasks":[{"name":"t","task_id":{"value":"g"},"agent_id":{"value":"AGENT"}}]}}},{"type":"RESERVE","id":{"value":"op"}}]}}`,
		`{"type":"DECLINE","framework_id":{"value":"FW"},"decline":{"offer_ids":[{"value":"OFFER"}],"filters":{"refuse_seconds":"Infinity"}}}`,
		`{"type":"DECLINE","framework_id":{"value":"FW"},"decline":{"offer_ids":[],"filters":{"refuse_seconds":-1}}}`,
		`{"type":"KILL","framework_id":{"value":"FW"},"kill":{"task_id":{"value":"nope"}}}`,
		`{"type":"ACKNOWLEDGE","framework_id":{"value":"FW"},"acknowledge":{"agent_id":{"value":"AGENT"},"task_id":{"value":"t"},"uuid":"AAAAAAAAAAAAAAAAAAAAAA=="}}`,
		`{"type":"RECONCILE","framework_id":{"value":"FW"},"reconcile":{"tasks":[{"task_id":{"value":"t"},"agent_id":{"value":"x"}}]}}`,
		`{"type":"RECONCILE","framework_id":{"value":"FW"},"reconcile":{}}`,
		`{"type":"REVIVE","framework_id":{"value":"FW"},"revive":{"roles":["a"]}}`,
		`{"type":"SUPPRESS","framework_id":{"value":"FW"},"suppress":{}}`,
		`{"type":"REVIVE","framework_id":{"value":"FW"}}`,
		`{"type":"SUPPRESS","framework_id":{"value":"FW"}}`,
		`{"type":"TEARDOWN","framework_id":{"value":"FW"}}`,
		`{"type":"SHUTDOWN","framework_id":{"value":"FW"},"shutdown":{"executor_id":{"value":"e"},"agent_id":{"value":"a"}}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		cfg := DefaultConfig()
		cfg.WorkDir = t.TempDir()
		m, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Unix(1e9, 0)
		m.mu.Lock()
		defer m.mu.Unlock()
		res, _ := api.ParseResources("cpus:4;mem:4096;ports:[31000-32000]")
		a := &agent{id: "AGENT", info: api.AgentInfo{Hostname: "h"}, total: res, tasks: map[taskKey]*task{}, stream: newStream("a")}
		m.agents[a.id] = a
		fw := newFramework("FW", api.FrameworkInfo{User: "u", Name: "n"}, now)
		fw.stream = newStream("s")
		m.frameworks[fw.id] = fw
		o := m.newOffer(fw, a, "*", a.free(), now)
		delete(m.offers, o.id)
		delete(fw.offers, o.id)
		o.id = "OFFER"
		m.offers[o.id], fw.offers[o.id] = o, o

		call, err := api.DecodeCall(body)
		if err != nil || call.Type == api.CallSubscribe {
			return
		}
		call.FrameworkID = &api.FrameworkID{Value: fw.id}
		_, _ = m.dispatch(fw, call, now)

		var offered api.Resources
		for _, o := range m.offers {
			offered = offered.Plus(o.resources)
		}
		if !a.total.Contains(a.used.Plus(a.offered)) {
			t.Fatalf("agent books overflow: total %s, used %s, offered %s", a.total, a.used, a.offered)
		}
		if !offered.Equal(a.offered) {
			t.Fatalf("outstanding offers hold %s but the agent counts %s offered", offered, a.offered)
		}
	})
}

// FuzzModuleName sends GET, HEAD and DELETE of /api/v1/modules/{name}
// with arbitrary names to a master whose store holds one module: none
// panics or fails with a 5xx, only DELETE of the stored module's own name
// removes it, and no name reaches a file outside the store.
func FuzzModuleName(f *testing.F) {
	stored := sha256Hex(wasmEmpty)
	for _, seed := range []string{stored, strings.ToUpper(stored), stored[:63], strings.Repeat("0", 64),
		"../" + stored[3:], "..%2f..%2fetc%2fpasswd", "", stored + ".wasm", stored + "/x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		cfg := DefaultConfig()
		cfg.WorkDir = t.TempDir()
		m, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.modules.Put(context.Background(), wasmEmpty); err != nil {
			t.Fatal(err)
		}
		outside := filepath.Join(cfg.WorkDir, "outside.wasm")
		if err := os.WriteFile(outside, wasmEmpty, 0o644); err != nil {
			t.Fatal(err)
		}
		h := m.Handler()
		for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodDelete} {
			req := httptest.NewRequest(method, "/api/v1/modules/x", nil)
			req.URL.Path = "/api/v1/modules/" + name
			req.URL.RawPath = ""
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s %q: %d %s", method, name, rec.Code, rec.Body)
			}
		}
		if _, held := m.modules.Get(stored); held == (name == stored) {
			t.Fatalf("after DELETE %q the store holds the module: %v", name, held)
		}
		if _, err := os.Stat(outside); err != nil {
			t.Fatalf("after DELETE %q: a file outside the store: %v", name, err)
		}
	})
}
