package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

// masterProc is one `mezzo master` of a replicated cluster.
type masterProc struct {
	addr string
	dir  string
	join bool // started with --join rather than --peers
	cmd  *exec.Cmd
	done chan struct{}
}

// replicatedCluster is three or more `mezzo master` processes on loopback
// with --peers naming all of them.
type replicatedCluster struct {
	t       testing.TB
	masters []*masterProc
	peers   string
	extra   []string // flags every master is started with
}

// startReplicated starts n masters on loopback, each with the extra flags.
func startReplicated(t testing.TB, n int, extra ...string) *replicatedCluster {
	t.Helper()
	c := &replicatedCluster{t: t, extra: extra}
	var addrs []string
	for range n {
		addrs = append(addrs, "127.0.0.1:"+strconv.Itoa(freePort(t)))
	}
	c.peers = strings.Join(addrs, ",")
	base := t.TempDir()
	for i, addr := range addrs {
		m := &masterProc{addr: addr, dir: filepath.Join(base, fmt.Sprint("master", i))}
		c.masters = append(c.masters, m)
		c.start(m)
	}
	t.Cleanup(func() {
		for _, m := range c.masters {
			c.kill(m, syscall.SIGTERM)
		}
	})
	return c
}

// start runs m's process (again, after a kill) and waits until it listens.
func (c *replicatedCluster) start(m *masterProc) {
	c.t.Helper()
	_, port, _ := strings.Cut(m.addr, ":")
	args := []string{"master", "--port", port, "--work-dir", m.dir, "--agent-reregister-timeout", "60s"}
	if m.join {
		args = append(args, "--join")
	} else {
		args = append(args, "--peers", c.peers)
	}
	args = append(args, c.extra...)
	m.cmd = exec.Command(mezzoBin, args...)
	stderr, err := m.cmd.StderrPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := m.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	m.done = make(chan struct{})
	up := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if listening.MatchString(sc.Text()) {
				close(up)
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() { m.cmd.Wait(); close(m.done) }()
	select {
	case <-up:
	case <-time.After(30 * time.Second):
		c.t.Fatalf("master %s did not come up", m.addr)
	}
}

func (c *replicatedCluster) kill(m *masterProc, sig syscall.Signal) {
	if m.cmd == nil {
		return
	}
	select {
	case <-m.done:
		return
	default:
	}
	m.cmd.Process.Signal(sig)
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		m.cmd.Process.Kill()
		<-m.done
	}
}

func (c *replicatedCluster) addrs() []string {
	var out []string
	for _, m := range c.masters {
		out = append(out, m.addr)
	}
	return out
}

// opCall posts an operator call to one master, without following
// redirects, and returns the status, the Location header and the body.
func opCall(addr, call string) (int, string, []byte, error) {
	code, header, body, err := opCallHeader(addr, call)
	return code, header.Get("Location"), body, err
}

// opTasks is one master's GET_TASKS answer, or nil when it gave none
// (not answering, not the leader, a body that is not one), for tests
// that poll until the tasks reach some state.
func opTasks(addr string) *api.GetTasksResponse {
	code, _, body, err := opCall(addr, `{"type":"GET_TASKS"}`)
	var resp api.OperatorResponse
	if err != nil || code != http.StatusOK || json.Unmarshal(body, &resp) != nil {
		return nil
	}
	return resp.GetTasks
}

// opCallHeader is opCall answering every header.
func opCallHeader(addr, call string) (int, http.Header, []byte, error) {
	client := &http.Client{Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Post("http://"+addr+"/api/v1", "application/json", strings.NewReader(call))
	if err != nil {
		return 0, http.Header{}, nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body, nil
}

// leaderOnlyCall is an operator call only the leader carries out: a
// standby redirects it (a weight of 1 is the default, so it changes
// nothing).
const leaderOnlyCall = `{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"leader-probe","weight":1}]}}`

// leader returns the master that answers GET_STATE itself rather than
// from a standby's replica, or nil.
func (c *replicatedCluster) leader() *masterProc {
	for _, m := range c.masters {
		code, header, _, err := opCallHeader(m.addr, `{"type":"GET_STATE"}`)
		if err == nil && code == http.StatusOK && header.Get(api.HeaderView) == "" {
			return m
		}
	}
	return nil
}

func (c *replicatedCluster) waitLeader(t *testing.T) *masterProc {
	t.Helper()
	var l *masterProc
	waitFor(t, func() bool { l = c.leader(); return l != nil }, "a leader")
	return l
}

// acceptedWrite makes an operator write on any master but skip, and
// reports whether one accepted it: the leader answers 200, a standby
// 307 (the client follows it) or 503 while there is no leader.
func (c *replicatedCluster) acceptedWrite(skip *masterProc, weight float64) bool {
	call := fmt.Sprintf(`{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"probe","weight":%g}]}}`, weight)
	for _, m := range c.masters {
		if m == skip {
			continue
		}
		code, loc, _, err := opCall(m.addr, call)
		if err == nil && code == http.StatusTemporaryRedirect && strings.HasPrefix(loc, "//") {
			code, _, _, err = opCall(strings.TrimPrefix(strings.SplitN(loc, "/api", 2)[0], "//"), call)
		}
		if err == nil && code == http.StatusOK {
			return true
		}
	}
	return false
}

// TestStandbysRedirect checks the answers of standbys: 307 to the leader
// in Mesos's protocol-relative form for the APIs, their own answer for
// GET_HEALTH, GET_MASTER, /version and /metrics (and the views of
// TestStandbysServeViews).
func TestStandbysRedirect(t *testing.T) {
	c := startReplicated(t, 3)
	leader := c.waitLeader(t)
	for _, m := range c.masters {
		if m == leader {
			continue
		}
		code, loc, _, err := opCall(m.addr, leaderOnlyCall)
		if err != nil || code != http.StatusTemporaryRedirect || loc != "//"+leader.addr+"/api/v1" {
			t.Errorf("standby %s answered UPDATE_WEIGHTS with %d Location %q (%v), want 307 to //%s/api/v1", m.addr, code, loc, err, leader.addr)
		}
		if code, _, body, err := opCall(m.addr, `{"type":"GET_HEALTH"}`); err != nil || code != http.StatusOK {
			t.Errorf("standby %s GET_HEALTH: %d %s %v", m.addr, code, body, err)
		}
		for _, path := range []string{"/version", "/metrics"} {
			resp, err := http.Get("http://" + m.addr + path)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Errorf("standby %s GET %s: %v %v", m.addr, path, resp, err)
			}
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if path == "/metrics" && !bytes.Contains(body, []byte("mezzo_master_elected 0")) {
					t.Errorf("standby %s does not report mezzo_master_elected 0", m.addr)
				}
			}
		}
	}
	// With the other two gone there is no majority: no leader is elected.
	for _, m := range c.masters {
		if m != leader {
			c.kill(m, syscall.SIGKILL)
		}
	}
	waitFor(t, func() bool {
		code, _, body, err := opCall(leader.addr, leaderOnlyCall)
		return err == nil && code == http.StatusServiceUnavailable && strings.Contains(string(body), "No leader elected")
	}, "the lone master to answer 503 No leader elected")
}

// history is what the framework of TestFailoverHistory saw: its launches
// and every update, checked afterwards as Jepsen's Chronos checker does.
type history struct {
	mu       sync.Mutex
	launched map[string]error            // task ID -> the ACCEPT call's error
	updates  map[string][]api.TaskStatus // task ID -> updates in arrival order
	running  map[string]map[string]bool  // task ID -> UUIDs of TASK_RUNNING updates
}

func (h *history) launch(id string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.launched[id] = err
}

func (h *history) update(st api.TaskStatus) {
	h.mu.Lock()
	defer h.mu.Unlock()
	id := st.TaskID.Value
	h.updates[id] = append(h.updates[id], st)
	if st.State == api.TaskRunning && len(st.UUID) > 0 {
		if h.running[id] == nil {
			h.running[id] = map[string]bool{}
		}
		h.running[id][string(st.UUID)] = true
	}
}

// terminal returns the distinct terminal states a task was reported in,
// answers to reconciliation included.
func (h *history) terminal(id string) []api.TaskState {
	var out []api.TaskState
	for _, st := range h.updates[id] {
		if st.State.IsTerminal() && !slices.Contains(out, st.State) {
			out = append(out, st.State)
		}
	}
	return out
}

// TestFailoverHistory runs three masters, two agents and a framework that
// launches short tasks continuously, kills the leader with SIGKILL a few
// times (restarting it each time, so that it rejoins as a standby), and
// then checks the history: every launch the framework made ends in exactly
// one terminal state, every launch the master accepted (202) finishes —
// only launches whose call failed may be lost —, no task ran twice, and
// every task the framework heard end is still known to the leader.
func TestFailoverHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("kills masters for a while")
	}
	c := startReplicated(t, 3)
	c.waitLeader(t)
	masters := strings.Join(c.addrs(), ",")
	for range 2 {
		cmd := exec.Command(mezzoBin, "agent", "--master", masters, "--port", "0", "--work-dir", searchable(t, t.TempDir()), "--allow-native",
			"--resources", "cpus:2;mem:1024;disk:1024")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stopAgent(cmd) })
	}
	h := &history{launched: map[string]error{}, updates: map[string][]api.TaskStatus{}, running: map[string]map[string]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	var launching sync.WaitGroup
	stopLaunching := make(chan struct{})
	client := scheduler.New(scheduler.Config{Masters: c.addrs(), FailoverTimeout: time.Hour,
		Framework:  api.FrameworkInfo{Name: "failover-history"},
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond})
	next := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		client.Run(ctx, func(ctx context.Context, ev *api.Event) error {
			switch ev.Type {
			case api.EventOffers:
				for _, o := range ev.Offers.Offers {
					select {
					case <-stopLaunching:
						client.Decline(ctx, 3600, o.ID)
						continue
					default:
					}
					next++
					id := fmt.Sprintf("task-%04d", next)
					ti := api.TaskInfo{Name: id, TaskID: api.TaskID{Value: id}, AgentID: o.AgentID,
						Resources: []api.Resource{api.ScalarResource("cpus", 0.1), api.ScalarResource("mem", 16)},
						Command:   &api.CommandInfo{Value: "sleep 1"}}
					launching.Add(1)
					err := client.Launch(ctx, o.ID, ti)
					h.launch(id, err)
					launching.Done()
				}
			case api.EventUpdate:
				h.update(ev.Update.Status)
			}
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); <-done })

	var failovers []time.Duration
	for kill := range 3 {
		waitFor(t, func() bool {
			h.mu.Lock()
			defer h.mu.Unlock()
			return len(h.launched) >= 5*(kill+1)
		}, "tasks to be launched")
		leader := c.waitLeader(t)
		start := time.Now()
		c.kill(leader, syscall.SIGKILL)
		waitFor(t, func() bool { return c.acceptedWrite(leader, float64(kill+1)) }, "a new leader to accept a write")
		failovers = append(failovers, time.Since(start))
		c.start(leader)
	}
	t.Logf("kill to first accepted write: %v", failovers)

	close(stopLaunching)
	h.mu.Lock()
	var ids []string
	for id := range h.launched {
		ids = append(ids, id)
	}
	h.mu.Unlock()
	slices.Sort(ids)
	deadline := time.Now().Add(90 * time.Second)
	for _, id := range ids {
		for {
			h.mu.Lock()
			n := len(h.terminal(id))
			h.mu.Unlock()
			if n > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("task %s never reached a terminal state; updates: %v", id, h.updates[id])
			}
			client.Reconcile(ctx, api.ReconcileTask{TaskID: api.TaskID{Value: id}})
			time.Sleep(200 * time.Millisecond)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	finished := 0
	for _, id := range ids {
		states := h.terminal(id)
		if len(states) != 1 {
			t.Errorf("task %s ended in %v, want exactly one terminal state; updates: %+v", id, states, h.updates[id])
		}
		if len(h.running[id]) > 1 {
			t.Errorf("task %s was reported running by %d distinct updates: launched twice", id, len(h.running[id]))
		}
		if slices.Equal(states, []api.TaskState{api.TaskFinished}) {
			finished++
		} else if h.launched[id] == nil {
			// The master answered 202 only once the launch was committed,
			// and no agent died: the task must have run to its end.
			t.Errorf("task %s was accepted but ended %v: %v", id, states, h.updates[id])
		} else {
			var why []string
			for _, u := range h.updates[id] {
				why = append(why, fmt.Sprintf("%s/%s %q", u.State, u.Reason, u.Message))
			}
			t.Logf("task %s (launch error: %v) ended %v: %s", id, h.launched[id], states, strings.Join(why, "; "))
		}
	}
	t.Logf("%d launches, %d finished, the rest lost or dropped across failovers", len(ids), finished)
	if finished == 0 {
		t.Error("no task finished")
	}
	// Every task the framework heard finish is known to the leader still.
	leader := c.waitLeader(t)
	_, _, body, err := opCall(leader.addr, `{"type":"GET_TASKS"}`)
	if err != nil {
		t.Fatal(err)
	}
	var resp api.OperatorResponse
	if err := json.Unmarshal(body, &resp); err != nil || resp.GetTasks == nil {
		t.Fatalf("GET_TASKS: %s %v", body, err)
	}
	known := map[string]api.TaskState{}
	for _, list := range [][]api.Task{resp.GetTasks.Tasks, resp.GetTasks.CompletedTasks} {
		for _, task := range list {
			known[task.TaskID.Value] = task.State
		}
	}
	for _, id := range ids {
		if st := h.terminal(id); len(st) == 1 && st[0] == api.TaskFinished && known[id] != api.TaskFinished {
			t.Errorf("task %s finished but the leader knows it as %q", id, known[id])
		}
	}
}

// TestMasterRestartKeepsState kills a lone master (no --peers) with
// SIGKILL and starts it again on its work dir: what it knew — the
// framework with its failover timeout, the agent, the running task, a
// role's weight — comes back from the registry, and the task keeps running.
func TestMasterRestartKeepsState(t *testing.T) {
	port := freePort(t)
	dir := t.TempDir()
	c := &devCluster{addr: "127.0.0.1:" + strconv.Itoa(port), logs: &bytes.Buffer{}}
	first := startMasterOn(t, dir, port)
	startAgent(t, c.addr, t.TempDir())
	waitFor(t, func() bool { return len(c.agentIDs(t)) == 1 }, "the agent to register")
	if code, body := c.post(t, "/api/v1", "application/json",
		[]byte(`{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"web","weight":2.5}]}}`)); code != http.StatusOK {
		t.Fatalf("UPDATE_WEIGHTS: %d %s", code, body)
	}
	// A framework that launches one long task, then goes away within its
	// failover timeout: after the restart only the registry knows it.
	ctx, cancel := context.WithCancel(context.Background())
	client := scheduler.New(scheduler.Config{Master: c.addr, FailoverTimeout: time.Hour,
		Framework: api.FrameworkInfo{Name: "keeper"}})
	done := make(chan struct{})
	launched := false
	go func() {
		defer close(done)
		client.Run(ctx, func(ctx context.Context, ev *api.Event) error {
			if ev.Type != api.EventOffers {
				return nil
			}
			for _, o := range ev.Offers.Offers {
				if launched {
					client.Decline(ctx, 3600, o.ID)
					continue
				}
				launched = true
				client.Launch(ctx, o.ID, api.TaskInfo{Name: "keeper", TaskID: api.TaskID{Value: "keeper"}, AgentID: o.AgentID,
					Resources: []api.Resource{api.ScalarResource("cpus", 0.1), api.ScalarResource("mem", 16)},
					Command:   &api.CommandInfo{Value: "exec sleep 654321"}})
			}
			return nil
		})
	}()
	waitFor(t, func() bool {
		tasks := c.tasks(t).Tasks
		return len(tasks) == 1 && tasks[0].State == api.TaskRunning
	}, "the task to run")
	before := c.tasks(t).Tasks[0]
	cancel()
	<-done

	first.Process.Signal(syscall.SIGKILL)
	first.Wait()
	startMasterOn(t, dir, port)
	code, body := c.post(t, "/api/v1", "application/json", []byte(`{"type":"GET_WEIGHTS"}`))
	if code != http.StatusOK || !strings.Contains(body, `"web"`) || !strings.Contains(body, "2.5") {
		t.Errorf("after the restart GET_WEIGHTS answers %d %s, want web's weight 2.5", code, body)
	}
	stdout, _, _ := c.mezzo(t, "frameworks", "-o", "json")
	var fw api.GetFrameworksResponse
	json.Unmarshal([]byte(stdout), &fw)
	if len(fw.Frameworks) != 1 || fw.Frameworks[0].FrameworkInfo.ID.Value != before.FrameworkID.Value || fw.Frameworks[0].Recovered {
		t.Errorf("after the restart the frameworks are %s, want %s from the registry", stdout, before.FrameworkID.Value)
	}
	waitFor(t, func() bool {
		tasks := c.tasks(t).Tasks
		return len(tasks) == 1 && tasks[0].TaskID == before.TaskID && tasks[0].State == api.TaskRunning
	}, "the task to be known, running, after the restart")
	if ids := c.agentIDs(t); len(ids) != 1 || ids[0] != before.AgentID.Value {
		t.Errorf("agents after the restart: %v, want %s", ids, before.AgentID.Value)
	}
	if !processRunning(t, "sleep 654321") {
		t.Error("the task's process died with the master")
	}
}

// TestAddRemoveMaster adds a fourth master to a running cluster of three
// with ADD_MASTER, removes one of the first three with REMOVE_MASTER, then
// kills the leader: the remaining three, the new one among them, elect a
// leader that accepts writes.
func TestAddRemoveMaster(t *testing.T) {
	c := startReplicated(t, 3)
	leader := c.waitLeader(t)
	joining := &masterProc{addr: "127.0.0.1:" + strconv.Itoa(freePort(t)), dir: t.TempDir(), join: true}
	c.start(joining)
	c.masters = append(c.masters, joining)
	if code, _, body, err := opCall(leader.addr, `{"type":"ADD_MASTER","add_master":{"address":"`+joining.addr+`"}}`); err != nil || code != http.StatusOK {
		t.Fatalf("ADD_MASTER: %d %s %v", code, body, err)
	}
	waitFor(t, func() bool {
		code, loc, _, err := opCall(joining.addr, leaderOnlyCall)
		return err == nil && code == http.StatusTemporaryRedirect && loc == "//"+leader.addr+"/api/v1"
	}, "the new master to follow the leader")
	var removed *masterProc
	for _, m := range c.masters[:3] {
		if m != leader {
			removed = m
			break
		}
	}
	if code, _, body, err := opCall(leader.addr, `{"type":"REMOVE_MASTER","remove_master":{"address":"`+removed.addr+`"}}`); err != nil || code != http.StatusOK {
		t.Fatalf("REMOVE_MASTER: %d %s %v", code, body, err)
	}
	c.kill(removed, syscall.SIGTERM)
	c.kill(leader, syscall.SIGKILL)
	waitFor(t, func() bool { return c.acceptedWrite(leader, 7) }, "the remaining masters to elect a leader that accepts writes")
	if code, _, _, err := opCall(joining.addr, `{"type":"ADD_MASTER","add_master":{"address":"nonsense"}}`); err != nil || code != http.StatusBadRequest {
		t.Errorf("an ADD_MASTER without a port answered %d, want 400", code)
	}
}

var devMasterLine = regexp.MustCompile(`master \d+: http://(\S+) \(pid (\d+)\)`)

// TestDevMasters runs `mezzo dev --masters 3` as a person trying failover
// would: kill -9 the leader's pid, and the agent shows up, active, on the
// master that takes over. Ctrl-C then stops everything cleanly.
func TestDevMasters(t *testing.T) {
	cmd := exec.Command(mezzoBin, "dev", "--masters", "3", "--port", "0", "--agent-port", "0", "--work-dir", searchable(t, t.TempDir()))
	logs := &syncBuffer{}
	cmd.Stderr = logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &devCluster{cmd: cmd, logs: &bytes.Buffer{}}
	t.Cleanup(func() { c.stop(t) })
	pids := map[string]int{}
	lines := bufio.NewScanner(stdout)
	for len(pids) < 3 && lines.Scan() {
		if m := devMasterLine.FindStringSubmatch(lines.Text()); m != nil {
			pids[m[1]], _ = strconv.Atoi(m[2])
		}
	}
	go io.Copy(io.Discard, stdout)
	if len(pids) != 3 {
		t.Fatalf("mezzo dev --masters 3 named %d masters; logs:\n%s", len(pids), logs)
	}
	var addrs []string
	for addr := range pids {
		addrs = append(addrs, addr)
	}
	activeAgents := func(skip string) bool {
		for _, addr := range addrs {
			if addr == skip {
				continue
			}
			code, _, body, err := opCall(addr, `{"type":"GET_AGENTS"}`)
			if err == nil && code == http.StatusOK && strings.Contains(string(body), `"active":true`) {
				return true
			}
		}
		return false
	}
	waitFor(t, func() bool { return activeAgents("") }, "the agent to register with the leader")
	var leader string
	for _, addr := range addrs {
		if code, _, _, err := opCall(addr, `{"type":"GET_AGENTS"}`); err == nil && code == http.StatusOK {
			leader = addr
		}
	}
	if err := syscall.Kill(pids[leader], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return activeAgents(leader) }, "the agent to be active on a new leader")
}

// TestStandbysCopyModules uploads a module to the leader: every standby
// copies it, checks its hash, and then serves it itself rather than
// redirecting to the leader.
func TestStandbysCopyModules(t *testing.T) {
	c := startReplicated(t, 3)
	leader := c.waitLeader(t)
	wasm := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00}
	resp, err := http.Post("http://"+leader.addr+"/api/v1/modules", "application/wasm", bytes.NewReader(wasm))
	if err != nil {
		t.Fatal(err)
	}
	var mod struct {
		SHA256 string `json:"sha256"`
	}
	json.NewDecoder(resp.Body).Decode(&mod)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || mod.SHA256 == "" {
		t.Fatalf("upload: %s %+v", resp.Status, mod)
	}
	noRedirect := &http.Client{Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, m := range c.masters {
		if m == leader {
			continue
		}
		waitFor(t, func() bool {
			resp, err := noRedirect.Get("http://" + m.addr + "/api/v1/modules/" + mod.SHA256)
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode == http.StatusOK && bytes.Equal(body, wasm)
		}, "standby "+m.addr+" to serve its own copy of the module")
	}
}
