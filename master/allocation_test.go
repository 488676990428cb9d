package master

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// TestEncodeOffers checks the wire form an OFFERS event gets from the
// stream's writer: offers in the order drafted, unreserved resources with
// role "*", allocation_info on the offer and its resources only for
// MULTI_ROLE frameworks, and drafts left as they were.
func TestEncodeOffers(t *testing.T) {
	reserved := api.ScalarResource("mem", 64)
	reserved.Role = "web"
	res := api.NewResources(api.ScalarResource("cpus", 1), reserved)
	tests := []struct {
		name  string
		multi bool
	}{
		{name: "single role", multi: false},
		{name: "MULTI_ROLE", multi: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var drafts []offerDraft
			for i := range 3 {
				drafts = append(drafts, offerDraft{
					offer:     api.Offer{ID: api.OfferID{Value: fmt.Sprint(i)}, Hostname: "h"},
					resources: res, role: "web", multi: tt.multi,
				})
			}
			b, err := encodeOffers(drafts)
			if err != nil {
				t.Fatal(err)
			}
			var ev api.Event
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatalf("%v in %s", err, b)
			}
			if ev.Type != api.EventOffers || ev.Offers == nil || len(ev.Offers.Offers) != len(drafts) {
				t.Fatalf("got %s", b)
			}
			for i, o := range ev.Offers.Offers {
				if o.ID.Value != fmt.Sprint(i) || o.Hostname != "h" {
					t.Errorf("offer %d is %s on %q", i, o.ID.Value, o.Hostname)
				}
				if (o.AllocationInfo != nil) != tt.multi {
					t.Errorf("offer %d: allocation_info %v, MULTI_ROLE %v", i, o.AllocationInfo, tt.multi)
				}
				roles := map[string]string{}
				for _, r := range o.Resources {
					roles[r.Name] = r.Role
					if (r.AllocationInfo != nil) != tt.multi || (tt.multi && r.AllocationInfo.Role != "web") {
						t.Errorf("offer %d: %s has allocation_info %v", i, r.Name, r.AllocationInfo)
					}
				}
				if roles["cpus"] != "*" || roles["mem"] != "web" {
					t.Errorf("offer %d: roles %v, want cpus * and mem web", i, roles)
				}
			}
			if res[0].Role != "" || res[0].AllocationInfo != nil {
				t.Errorf("encoding changed the draft's resources: %+v", res[0])
			}
		})
	}
}

func TestRefuseDuration(t *testing.T) {
	secs := func(v float64) *api.Filters { return &api.Filters{RefuseSeconds: api.Ptr(api.Float64(v))} }
	tests := []struct {
		name    string
		filters *api.Filters
		want    time.Duration
	}{
		{"no filters: Mesos's default", nil, 5 * time.Second},
		{"unset: the default", &api.Filters{}, 5 * time.Second},
		{"zero: no filter", secs(0), 0},
		{"fraction", secs(2.5), 2500 * time.Millisecond},
		{"negative: the default", secs(-1), 5 * time.Second},
		{"NaN: the default", secs(math.NaN()), 5 * time.Second},
		{"a year and more: capped at 365 days", secs(1e12), 365 * 24 * time.Hour},
		{"infinity: capped", secs(math.Inf(1)), 365 * 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := refuseDuration(tt.filters); got != tt.want {
				t.Fatalf("refuseDuration = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestNoOffersToAFrameworkBehind checks that a framework whose stream has
// offerBacklog records waiting is offered nothing, and is offered again
// once it has caught up.
func TestNoOffersToAFrameworkBehind(t *testing.T) {
	cfg := DefaultConfig()
	cfg.WorkDir = t.TempDir()
	m, err := New(cfg) // not running: the test makes the passes
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	res, err := api.ParseResources("cpus:4;mem:1024")
	if err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	f := newFramework("behind", api.FrameworkInfo{Name: "behind", Roles: []string{"*"}}, now)
	f.stream = newStream(f.id)
	m.frameworks[f.id] = f
	m.alloc.AddFramework(f.id, frameworkOptions(f.info, nil))
	a := m.admitAgent(&api.AgentSubscribe{AgentInfo: api.AgentInfo{Hostname: "a", Resources: res}}, now)
	a.stream = newStream(a.id)
	m.readmitAgent(a)
	for range offerBacklog {
		f.stream.sendEncoded(frameworkHeartbeat)
	}
	m.mu.Unlock()

	m.allocatePass(now, true)
	if n := len(f.offers); n != 0 {
		t.Fatalf("a framework %d records behind got %d offers", offerBacklog, n)
	}
	f.stream.take(nil) // it reads what waited
	m.allocatePass(now, true)
	if n := len(f.offers); n != 1 {
		t.Fatalf("caught up, it got %d offers, want 1", n)
	}
}
