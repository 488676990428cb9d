package registry

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// BenchmarkApply measures a commit through a registry of one master, as
// the master's write loop makes them: one at a time ("serial"), and with
// the next ones submitted before the first has committed ("pipelined"),
// which lets raft store several entries with one fsync and the FSM apply
// them in one bbolt transaction.
//
//	go test -run '^$' -bench BenchmarkApply ./master/registry
func BenchmarkApply(b *testing.B) {
	for _, depth := range []int{1, 16} {
		name := "serial"
		if depth > 1 {
			name = fmt.Sprintf("pipelined-%d", depth)
		}
		b.Run(name, func(b *testing.B) {
			m := startMember(b, b.TempDir(), "", nil)
			waitFor(b, "a leader", m.reg.IsLeader)
			ctx := context.Background()
			b.ResetTimer()
			var wg sync.WaitGroup
			sem := make(chan struct{}, depth)
			for i := range b.N {
				sem <- struct{}{}
				wg.Add(1)
				go func() {
					defer func() { <-sem; wg.Done() }()
					if err := m.reg.Apply(ctx, LaunchTasks(fmt.Sprintf("L%d", i), sampleTask("f1", fmt.Sprintf("t%d", i)))); err != nil {
						b.Error(err)
					}
				}()
			}
			wg.Wait()
		})
	}
}
