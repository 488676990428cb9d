package e2e

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/operator"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

// BenchmarkTaskLaunch measures, on a real dev cluster, the time from a
// framework's launch call to the TASK_RUNNING it receives, for a native
// task and for a cached Go wasip1 module on each engine; one task at a
// time, each in its own executor process. It reports the median and p99
// as custom metrics.
//
//	go test -run '^$' -bench BenchmarkTaskLaunch -benchtime 50x ./e2e
func BenchmarkTaskLaunch(b *testing.B) {
	for _, kind := range []string{"native", "wasmtime", "wazero"} {
		b.Run(kind, func(b *testing.B) { benchLaunch(b, kind) })
	}
}

func benchLaunch(b *testing.B, kind string) {
	c := startDev(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var sha string
	if kind != "native" {
		wasm, err := os.ReadFile(buildModule(b, "./samples/modules/hello"))
		if err != nil {
			b.Fatal(err)
		}
		m, err := operator.New(c.addr).PushModule(ctx, wasm)
		if err != nil {
			b.Fatal(err)
		}
		sha = m.SHA256
	}
	task := func(i int, agentID string) api.TaskInfo {
		res := api.Resources{api.ScalarResource("cpus", 0.01), api.ScalarResource("mem", 32)}
		id := fmt.Sprintf("%s-%d", kind, i)
		if kind == "native" {
			return scheduler.CommandTask(id, id, agentID, "true", res)
		}
		t := scheduler.WasmTask(id, id, agentID, sha, nil, res)
		t.Container.Wasm.Engine = kind
		return t
	}
	client := scheduler.New(scheduler.Config{Master: c.addr, Framework: api.FrameworkInfo{Name: "bench"}})
	var mu sync.Mutex
	started := map[string]time.Time{}
	var lat []time.Duration
	offers := make(chan api.Offer, 16)
	running := make(chan struct{}, 1)
	go client.Run(ctx, func(ctx context.Context, ev *api.Event) error {
		switch ev.Type {
		case api.EventOffers:
			for _, o := range ev.Offers.Offers {
				offers <- o
			}
		case api.EventUpdate:
			st := ev.Update.Status
			if st.State == api.TaskRunning {
				mu.Lock()
				if t0, ok := started[st.TaskID.Value]; ok {
					lat = append(lat, time.Since(t0))
					delete(started, st.TaskID.Value)
					running <- struct{}{}
				}
				mu.Unlock()
			}
		}
		return nil
	})
	// One untimed launch warms the module's compiled-code cache.
	for i := -1; i < b.N; i++ {
		if i == 0 {
			b.ResetTimer()
			mu.Lock()
			lat = lat[:0]
			mu.Unlock()
		}
		o := <-offers
		ti := task(i+1, o.AgentID.Value)
		mu.Lock()
		started[ti.TaskID.Value] = time.Now()
		mu.Unlock()
		if err := client.Accept(ctx, []api.OfferID{o.ID}, []api.Operation{{Type: api.OpLaunch,
			Launch: &api.LaunchOperation{TaskInfos: []api.TaskInfo{ti}}}}, &api.Filters{RefuseSeconds: api.Ptr(api.Float64(0))}); err != nil {
			b.Fatal(err)
		}
		select {
		case <-running:
		case <-ctx.Done():
			b.Fatal("no TASK_RUNNING")
		}
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}
