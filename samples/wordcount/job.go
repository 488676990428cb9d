package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/samples/wordcount/words"
	"github.com/mezzo-cluster/mezzo/sdk/operator"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

// piece is one unit of work: map i (a chunk) or reduce i (a partition).
type piece struct {
	reduce bool
	index  int
}

func (p piece) String() string {
	if p.reduce {
		return "reduce-" + strconv.Itoa(p.index)
	}
	return "map-" + strconv.Itoa(p.index)
}

// job runs one count: the map phase, then the reduce phase.
type job struct {
	cfg                 config
	ops                 *operator.Client
	client              *scheduler.Client
	base                string // this framework's HTTP address, for the URIs
	chunks              [][]byte
	mapSHA, reduceSHA   string
	start, mapDone, end time.Time
	relaunched          int
	queue               []api.TaskInfo
	pieces              map[string]piece // by task ID, for queued and launched tasks
	st                  *saved           // what --state keeps: attempts, tasks in flight, outputs
	left                int              // pieces of the current phase not yet done
	result              map[string]int64

	mu         sync.Mutex // guards partitions, read by the HTTP handler
	partitions [][]byte   // each reducer's input, complete once the map phase is
}

func newJob(cfg config, ops *operator.Client, base string, chunks [][]byte, mapSHA, reduceSHA string, st *saved) *job {
	return &job{
		cfg: cfg, ops: ops, base: base, chunks: chunks, mapSHA: mapSHA, reduceSHA: reduceSHA,
		pieces: map[string]piece{}, st: st, result: map[string]int64{},
		partitions: make([][]byte, cfg.reducers),
	}
}

// handler serves the tasks' inputs: GET /chunk/{i} and /partition/{i}.
func (j *job) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /chunk/{i}", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.PathValue("i"))
		if err != nil || i < 0 || i >= len(j.chunks) {
			http.NotFound(w, r)
			return
		}
		w.Write(j.chunks[i])
	})
	mux.HandleFunc("GET /partition/{i}", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.PathValue("i"))
		if err != nil || i < 0 || i >= j.cfg.reducers {
			http.NotFound(w, r)
			return
		}
		j.mu.Lock()
		data := j.partitions[i]
		j.mu.Unlock()
		w.Write(data)
	})
	return mux
}

// errDone ends the event loop once the count is complete and the framework
// has torn itself down.
var errDone = errors.New("count complete")

// run subscribes, runs both phases and returns the counts.
func (j *job) run(ctx context.Context) (map[string]int64, error) {
	cfg := scheduler.Config{
		Masters: strings.Split(j.cfg.master, ","),
		// Long enough to follow a new leader when the old one dies, or
		// for the job to be started again with its --state; the job
		// tears itself down when it is done.
		FailoverTimeout: time.Minute,
		Framework:       api.FrameworkInfo{Name: "wordcount"},
	}
	if j.st.FrameworkID != "" {
		cfg.Framework.ID = &api.FrameworkID{Value: j.st.FrameworkID}
	}
	if err := cfg.FromEnv(os.Getenv); err != nil { // credentials and TLS as the mezzo CLI takes them
		return nil, err
	}
	j.client = scheduler.New(cfg)
	j.start = time.Now()
	j.resume(ctx)
	err := j.client.Run(ctx, func(ctx context.Context, ev *api.Event) error {
		switch ev.Type {
		case api.EventSubscribed:
			return j.subscribed(ctx, ev.Subscribed.FrameworkID.Value)
		case api.EventOffers:
			return j.offers(ctx, ev.Offers.Offers)
		case api.EventUpdate:
			return j.update(ctx, ev.Update.Status)
		}
		return nil
	})
	if !j.end.IsZero() && (err == nil || errors.Is(err, errDone)) {
		return j.result, nil // Run ends with nil after a teardown
	}
	if err == nil {
		err = ctx.Err()
	}
	return nil, err
}

// resume sets the phase up from the state: the outputs of finished
// pieces are read again and used as if they had just come, tasks in
// flight are waited for, and the other pieces of the phase are queued.
// Without a saved state, it queues every map.
func (j *job) resume(ctx context.Context) {
	if len(j.st.Done)+len(j.st.Launched) > 0 {
		fmt.Printf("carrying on as framework %s: %d pieces done, %d tasks in flight\n", j.st.FrameworkID, len(j.st.Done), len(j.st.Launched))
	}
	for id, name := range j.st.Launched {
		j.pieces[id], _ = parsePiece(name) // checked when loaded
	}
	if j.phase(ctx, false, len(j.chunks)); j.left > 0 {
		return
	}
	j.mapDone = time.Now()
	j.phase(ctx, true, j.cfg.reducers)
}

// phase starts the map or the reduce phase of n pieces: those done are
// taken from their outputs, those in flight awaited, the others queued.
func (j *job) phase(ctx context.Context, reduce bool, n int) {
	inFlight := map[string]bool{}
	for _, name := range j.st.Launched {
		inFlight[name] = true
	}
	j.left = 0
	for i := range n {
		p := piece{reduce: reduce, index: i}
		out, done := j.st.Done[p.String()]
		if done {
			err := j.finished(ctx, p, out)
			if err == nil {
				continue
			}
			// Its sandbox is gone (or its agent): run it again.
			warn("read what "+p.String()+" left", err)
			delete(j.st.Done, p.String())
		}
		switch {
		case inFlight[p.String()]:
			j.left++
		default:
			j.enqueue(p)
			j.left++
		}
	}
}

// subscribed keeps the framework ID, asks after the tasks launched
// before (by a run stopped since, which this client would not reconcile
// on its own), and leaves if the job was complete.
func (j *job) subscribed(ctx context.Context, id string) error {
	if j.st.FrameworkID != id {
		j.st.FrameworkID = id
		if err := j.st.save(); err != nil {
			return err
		}
	}
	var tasks []api.ReconcileTask
	for id := range j.st.Launched {
		tasks = append(tasks, api.ReconcileTask{TaskID: api.TaskID{Value: id}})
	}
	if len(tasks) > 0 {
		warn("reconcile", j.client.Reconcile(ctx, tasks...))
	}
	if j.left == 0 && len(j.st.Done) == len(j.chunks)+j.cfg.reducers {
		return j.complete(ctx) // it was, but stopped before it could say so
	}
	return nil
}

// enqueue adds a task for p, with an ID naming its attempt.
func (j *job) enqueue(p piece) {
	id := fmt.Sprintf("wordcount-%s-%d", p, j.st.Attempts[p.String()])
	j.st.Attempts[p.String()]++
	sha, uri := j.mapSHA, fmt.Sprintf("%s/chunk/%d", j.base, p.index)
	if p.reduce {
		sha, uri = j.reduceSHA, fmt.Sprintf("%s/partition/%d", j.base, p.index)
	}
	res := api.Resources{api.ScalarResource("cpus", j.cfg.cpus), api.ScalarResource("mem", j.cfg.mem)}
	task := scheduler.WasmTask(id, id, "", sha, nil, res)
	// The command only carries the input for the agent to fetch into the
	// task's sandbox, under the name the module reads.
	task.Command = &api.CommandInfo{URIs: []api.CommandURI{{Value: uri, OutputFile: "input", Extract: api.Ptr(false)}}}
	j.pieces[id] = p
	j.queue = append(j.queue, task)
}

func (j *job) offers(ctx context.Context, offers []api.Offer) error {
	for _, offer := range offers {
		var launch []api.TaskInfo
		launch, j.queue = scheduler.Pack(offer, j.queue)
		if len(launch) == 0 {
			warn("decline", j.client.Decline(ctx, 5, offer.ID))
			continue
		}
		for _, t := range launch {
			j.st.Launched[t.TaskID.Value] = j.pieces[t.TaskID.Value].String()
		}
		// Saved before the launch: a job stopped in between asks the
		// master about these tasks when it starts again.
		if err := j.st.save(); err != nil {
			return err
		}
		warn("launch", j.client.Launch(ctx, offer.ID, launch...))
	}
	if len(j.queue) == 0 {
		warn("suppress", j.client.Suppress(ctx))
	}
	return nil
}

// warn reports a call that failed without ending the job: a master that
// dies mid-call is followed by the next subscription, whose
// reconciliation settles the tasks (a launch that never happened comes
// back TASK_LOST and is launched again). Returning the error would end
// the SDK's Run.
func warn(what string, err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "wordcount: %s: %v\n", what, err)
	}
}

func (j *job) update(ctx context.Context, st api.TaskStatus) error {
	p, ok := j.pieces[st.TaskID.Value]
	// TASK_UNKNOWN answers the reconciliation of a task the master never
	// had: its launch was lost with the job that made it.
	if !ok || (!st.State.IsTerminal() && st.State != api.TaskUnknown) {
		return nil
	}
	delete(j.pieces, st.TaskID.Value)
	delete(j.st.Launched, st.TaskID.Value)
	if st.State != api.TaskFinished || st.AgentID == nil {
		if n := j.st.Attempts[p.String()]; n > j.cfg.retries {
			return fmt.Errorf("%s failed %d times; last: %s %s %s", p, n, st.State, st.Reason, st.Message)
		}
		fmt.Printf("%s: %s %s, launching it again\n", st.TaskID.Value, st.State, st.Message)
		j.relaunched++
		j.enqueue(p)
		warn("revive", j.client.Revive(ctx))
		return j.st.save()
	}
	out := output{AgentID: st.AgentID.Value, Path: api.SandboxPath(st, j.client.FrameworkID(), st.TaskID.Value) + "/stdout"}
	if err := j.finished(ctx, p, out); err != nil {
		return err
	}
	j.st.Done[p.String()] = out
	j.left--
	if j.left > 0 {
		return j.st.save()
	}
	if !p.reduce {
		j.mapDone = time.Now()
		j.phase(ctx, true, j.cfg.reducers)
		warn("revive", j.client.Revive(ctx))
		return j.st.save()
	}
	return j.complete(ctx)
}

// finished takes in a finished piece's output: a map's counts go to the
// reducers' inputs, a reducer's to the result.
func (j *job) finished(ctx context.Context, p piece, out output) error {
	data, err := j.output(ctx, out)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	counts := map[string]int64{}
	if err := words.ReadCounts(bytes.NewReader(data), counts); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if p.reduce {
		for w, c := range counts {
			j.result[w] += c
		}
	} else {
		j.shuffle(counts)
	}
	return nil
}

// complete ends the job: the state has served, and tearing down removes
// the framework at once, so the master need not wait out a failover
// timeout.
func (j *job) complete(ctx context.Context) error {
	j.end = time.Now()
	j.st.remove()
	warn("teardown", j.client.Teardown(ctx))
	return errDone
}

// output reads a finished task's stdout through the masters, trying
// another master (the leader, through a standby's redirect) when the one
// it asked has gone.
func (j *job) output(ctx context.Context, o output) ([]byte, error) {
	var err error
	for attempt := range 5 {
		var out []byte
		if out, err = readAll(ctx, j.ops, o.AgentID, o.Path); err == nil {
			return out, nil
		}
		warn("read output", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(attempt+1) * time.Second):
		}
		j.ops = operator.NewFirst(ctx, strings.Split(j.cfg.master, ","), j.cfg.opsOptions...)
	}
	return nil, err
}

// shuffle appends one map task's counts to the reducers' inputs, each
// word to the reducer that owns it.
func (j *job) shuffle(counts map[string]int64) {
	split := make([]map[string]int64, j.cfg.reducers)
	for i := range split {
		split[i] = map[string]int64{}
	}
	for w, c := range counts {
		split[words.Partition(w, j.cfg.reducers)][w] = c
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	for i, part := range split {
		var buf bytes.Buffer
		words.WriteCounts(&buf, part) // a bytes.Buffer does not fail
		j.partitions[i] = append(j.partitions[i], buf.Bytes()...)
	}
}

// readAll reads a whole sandbox file through the master.
func readAll(ctx context.Context, ops *operator.Client, agentID, path string) ([]byte, error) {
	const window = 1 << 20
	var out []byte
	for {
		chunk, err := ops.ReadFile(ctx, agentID, path, int64(len(out)), window)
		if err != nil {
			return nil, err
		}
		out = append(out, chunk.Data...)
		if len(chunk.Data) < window {
			return out, nil
		}
	}
}
