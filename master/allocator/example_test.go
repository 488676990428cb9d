package allocator_test

import (
	"fmt"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/master/allocator"
)

func Example() {
	a := allocator.New(allocator.DefaultConfig())
	total, _ := api.ParseResources("cpus:4;mem:8192;cpus(web):2")
	a.AddAgent("agent-1", total, nil)
	a.AddFramework("batch", allocator.FrameworkOptions{Roles: []string{"batch"}})
	a.AddFramework("shop", allocator.FrameworkOptions{Roles: []string{"web"}})

	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, o := range a.Allocate(now) {
		fmt.Printf("%s gets %s in role %s\n", o.Framework, o.Resources.Unallocated(), o.Role)
	}

	// The shop declines its offer for ten seconds; until then nothing is
	// offered again, since the batch framework holds the rest.
	a.Recover("shop", "agent-1", "web", total.Reserved("web").Allocate("web"), 10*time.Second, now)
	fmt.Println(len(a.Allocate(now.Add(time.Second))), "offers a second later")
	fmt.Println(len(a.Allocate(now.Add(10*time.Second))), "offer ten seconds later")
	// Output:
	// batch gets cpus:4;mem:8192 in role batch
	// shop gets cpus(web):2 in role web
	// 0 offers a second later
	// 1 offer ten seconds later
}
