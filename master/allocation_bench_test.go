package master

import (
	"fmt"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// BenchmarkAllocatePass measures a full allocation pass in the master, as
// issue #9's item d counts it: the allocator's decisions, the offers
// recorded and queued on 200 frameworks' streams, all with the master's
// lock held — nothing else is served meanwhile. Every agent is offered in
// every pass: the offers of one pass are withdrawn before the next.
// Encoding the offers for the wire is not part of it: each stream's
// writer does that outside the lock.
func BenchmarkAllocatePass(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 50_000} {
		b.Run(fmt.Sprintf("agents=%d/frameworks=200", n), func(b *testing.B) {
			// The master's own loop is not running: it would make passes of
			// its own whenever offers are withdrawn.
			cfg := DefaultConfig()
			cfg.WorkDir = b.TempDir()
			tm, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			res, err := api.ParseResources("cpus:8;mem:16384;disk:100000;ports:[31000-32000]")
			if err != nil {
				b.Fatal(err)
			}
			tm.mu.Lock()
			var fws []*framework
			for i := range 200 {
				f := newFramework(fmt.Sprintf("bench-%d", i), api.FrameworkInfo{Name: "bench", Roles: []string{"*"}}, now)
				f.stream = newStream(f.id)
				tm.frameworks[f.id] = f
				tm.alloc.AddFramework(f.id, frameworkOptions(f.info, nil))
				fws = append(fws, f)
			}
			for i := range n {
				a := tm.admitAgent(&api.AgentSubscribe{AgentInfo: api.AgentInfo{Hostname: fmt.Sprintf("agent-%d", i), Resources: res}}, now)
				a.stream = newStream(a.id)
				tm.readmitAgent(a)
			}
			tm.mu.Unlock()
			offered := 0
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				tm.mu.Lock()
				for _, o := range tm.offers {
					tm.removeOffer(o, 0, now)
				}
				tm.mu.Unlock()
				for _, f := range fws {
					f.stream.take(nil)
				}
				b.StartTimer()
				tm.allocatePass(now, true)
				b.StopTimer()
				offered += len(tm.offers)
				b.StartTimer()
			}
			b.ReportMetric(float64(offered)/float64(b.N), "offers/pass")
		})
	}
}
