package e2e

import (
	"slices"
	"syscall"
	"testing"
	"time"
)

// BenchmarkFailover kills the leader of three `mezzo master` processes
// with SIGKILL once per iteration and measures the time from the kill to
// the first write a new leader accepts; it restarts the killed master so
// that the cluster has three members again. It reports the median and the
// worst over the iterations:
//
//	go test ./e2e -run '^$' -bench Failover -benchtime 30x
func BenchmarkFailover(b *testing.B) {
	c := startReplicated(b, 3)
	var times []time.Duration
	for i := 0; b.Loop(); i++ {
		leader := waitLeaderB(b, c)
		start := time.Now()
		c.kill(leader, syscall.SIGKILL)
		for !c.acceptedWrite(leader, float64(i+1)) {
			if time.Since(start) > time.Minute {
				b.Fatal("no new leader accepted a write within a minute")
			}
			time.Sleep(5 * time.Millisecond)
		}
		times = append(times, time.Since(start))
		b.StopTimer()
		c.start(leader)
		// Let the restarted master catch up before the next kill, so that
		// every run starts from a healthy cluster of three.
		time.Sleep(2 * time.Second)
		b.StartTimer()
	}
	slices.Sort(times)
	b.ReportMetric(times[len(times)/2].Seconds(), "s-median")
	b.ReportMetric(times[len(times)-1].Seconds(), "s-worst")
	b.Logf("kill to first accepted write over %d runs: median %v, worst %v", len(times), times[len(times)/2], times[len(times)-1])
}

func waitLeaderB(b *testing.B, c *replicatedCluster) *masterProc {
	deadline := time.Now().Add(30 * time.Second)
	for {
		if l := c.leader(); l != nil {
			return l
		}
		if time.Now().After(deadline) {
			b.Fatal("no leader")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
