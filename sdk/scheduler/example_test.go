package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/mezzo-cluster/mezzo/agent"
	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/master"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

// The typical event loop: launch queued tasks on the offers they fit,
// decline the rest, follow the tasks' updates. It runs against a real
// master and agent on loopback.
func ExampleClient_Run() {
	addr, stop := startCluster() // a master and an agent on loopback
	defer stop()

	c := scheduler.New(scheduler.Config{
		Master:    addr,
		Framework: api.FrameworkInfo{User: "nobody", Name: "hello"},
	})
	res := api.NewResources(api.ScalarResource("cpus", 0.1), api.ScalarResource("mem", 32))
	queue := []api.TaskInfo{scheduler.CommandTask("hello-1", "hello", "", "echo hello", res)}
	errFinished := errors.New("all tasks finished")

	err := c.Run(context.Background(), func(ctx context.Context, ev *api.Event) error {
		switch ev.Type {
		case api.EventSubscribed:
			fmt.Println("subscribed")
		case api.EventOffers:
			for _, o := range ev.Offers.Offers {
				var launch []api.TaskInfo
				launch, queue = scheduler.Pack(o, queue)
				if len(launch) == 0 {
					if err := c.Decline(ctx, 5, o.ID); err != nil {
						return err
					}
					continue
				}
				if err := c.Launch(ctx, o.ID, launch...); err != nil {
					return err
				}
			}
		case api.EventUpdate:
			st := ev.Update.Status
			if st.Reason == api.ReasonReconciliation {
				return nil // the client reconciles on its own; nothing new
			}
			fmt.Println(st.TaskID.Value, st.State)
			if st.State.IsTerminal() {
				return errFinished
			}
		}
		return nil
	})
	fmt.Println(err == errFinished)
	// Output:
	// subscribed
	// hello-1 TASK_RUNNING
	// hello-1 TASK_FINISHED
	// true
}

// A framework that must outlive its own and the master's restarts: several
// masters, a failover timeout, its ID kept across runs, and a hook for
// disconnections.
func ExampleConfig() {
	savedID := "" // the framework ID from the last run, if any
	cfg := scheduler.DefaultConfig()
	cfg.Masters = []string{"m1:5050", "m2:5050", "m3:5050"}
	cfg.Framework = api.FrameworkInfo{User: "svc", Name: "services", Checkpoint: true}
	if savedID != "" {
		cfg.Framework.ID = &api.FrameworkID{Value: savedID}
	}
	cfg.Roles = []string{"web"}
	cfg.FailoverTimeout = 7 * 24 * time.Hour
	cfg.Disconnected = func(err error) {
		// Offers are void from here on; the next SUBSCRIBED event starts
		// afresh, and the client reconciles tasks by itself.
		fmt.Fprintln(os.Stderr, "disconnected:", err)
	}
	c := scheduler.New(cfg)
	_ = c // c.Run(ctx, handler), then save c.FrameworkID() for the next run
}

func ExamplePack() {
	offer := api.Offer{
		ID:      api.OfferID{Value: "O1"},
		AgentID: api.AgentID{Value: "S1"},
		Resources: []api.Resource{
			api.ScalarResource("cpus", 2), api.ScalarResource("mem", 1024),
		},
	}
	res := api.NewResources(api.ScalarResource("cpus", 0.75), api.ScalarResource("mem", 256))
	var queue []api.TaskInfo
	for i := range 4 {
		queue = append(queue, scheduler.CommandTask(fmt.Sprint("t", i), "", "", "./work", res))
	}
	launch, rest := scheduler.Pack(offer, queue)
	for _, t := range launch {
		fmt.Println("launch", t.TaskID.Value, "on", t.AgentID.Value)
	}
	fmt.Println(len(rest), "left in the queue")
	// Output:
	// launch t0 on S1
	// launch t1 on S1
	// 2 left in the queue
}

func ExamplePorts() {
	offered := api.NewResources(api.RangesResource("ports",
		api.Range{Begin: 31000, End: 31001}, api.Range{Begin: 31005, End: 31010}))
	ports, ok := scheduler.Ports(offered, 3)
	fmt.Println(ports, ok)
	fmt.Println(api.Resources{scheduler.PortsResource(ports...)})
	// Output:
	// [31000 31001 31005] true
	// ports:[31000-31001,31005-31005]
}

// startCluster runs a master and an agent on loopback until stop is called.
func startCluster() (addr string, stop func()) {
	dir, err := os.MkdirTemp("", "sdk-example-")
	if err != nil {
		panic(err)
	}
	// Native tasks run as nobody when the examples run as root (as in
	// CI): it must reach their sandboxes.
	if err := os.Chmod(dir, 0o755); err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	addr = ln.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	mcfg := master.DefaultConfig()
	mcfg.WorkDir = dir + "/master"
	mcfg.Port, _ = strconv.Atoi(port)
	m, err := master.New(mcfg)
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Handler: m.Handler()}
	go srv.Serve(ln)
	ctx, cancel := context.WithCancel(context.Background())
	acfg := agent.DefaultConfig()
	acfg.Masters = []string{addr}
	acfg.WorkDir = dir + "/agent"
	acfg.Hostname = "127.0.0.1"
	acfg.RegistrationBackoff = 10 * time.Millisecond
	acfg.ExecutorCommand = []string{mezzoBin, "executor"} // see TestMain
	acfg.AllowNative = true                               // the examples run commands
	if acfg.Resources, err = api.ParseResources("cpus:2;mem:1024"); err != nil {
		panic(err)
	}
	aln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	acfg.Port = aln.Addr().(*net.TCPAddr).Port
	a, err := agent.New(ctx, acfg)
	if err != nil {
		panic(err)
	}
	asrv := &http.Server{Handler: a.Handler()}
	go asrv.Serve(aln)
	done := make(chan struct{}, 2)
	go func() { m.Run(ctx); done <- struct{}{} }()
	go func() { a.Run(ctx); done <- struct{}{} }()
	return addr, func() {
		cancel()
		<-done
		<-done
		srv.Close()
		asrv.Close()
		os.RemoveAll(dir)
	}
}
