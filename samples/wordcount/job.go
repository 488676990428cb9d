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
	pieces              map[string]piece // by task ID, for launched tasks
	attempts            map[piece]int
	left                int // pieces of the current phase not yet done
	result              map[string]int64

	mu         sync.Mutex // guards partitions, read by the HTTP handler
	partitions [][]byte   // each reducer's input, complete once the map phase is
}

func newJob(cfg config, ops *operator.Client, base string, chunks [][]byte, mapSHA, reduceSHA string) *job {
	return &job{
		cfg: cfg, ops: ops, base: base, chunks: chunks, mapSHA: mapSHA, reduceSHA: reduceSHA,
		pieces: map[string]piece{}, attempts: map[piece]int{}, result: map[string]int64{},
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
		// Long enough to follow a new leader when the old one dies; the
		// job tears itself down when it is done.
		FailoverTimeout: time.Minute,
		Framework:       api.FrameworkInfo{Name: "wordcount"},
	}
	if err := cfg.FromEnv(os.Getenv); err != nil { // credentials and TLS as the mezzo CLI takes them
		return nil, err
	}
	j.client = scheduler.New(cfg)
	j.start = time.Now()
	for i := range j.chunks {
		j.enqueue(piece{index: i})
	}
	j.left = len(j.chunks)
	err := j.client.Run(ctx, func(ctx context.Context, ev *api.Event) error {
		switch ev.Type {
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

// enqueue adds a task for p, with an ID naming its attempt.
func (j *job) enqueue(p piece) {
	id := fmt.Sprintf("wordcount-%s-%d", p, j.attempts[p])
	j.attempts[p]++
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
	if !ok || !st.State.IsTerminal() {
		return nil
	}
	delete(j.pieces, st.TaskID.Value)
	if st.State != api.TaskFinished || st.AgentID == nil {
		if j.attempts[p] > j.cfg.retries {
			return fmt.Errorf("%s failed %d times; last: %s %s %s", p, j.attempts[p], st.State, st.Reason, st.Message)
		}
		fmt.Printf("%s: %s %s, launching it again\n", st.TaskID.Value, st.State, st.Message)
		j.relaunched++
		j.enqueue(p)
		warn("revive", j.client.Revive(ctx))
		return nil
	}
	out, err := j.output(ctx, st)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	counts := map[string]int64{}
	if err := words.ReadCounts(bytes.NewReader(out), counts); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if p.reduce {
		for w, c := range counts {
			j.result[w] += c
		}
	} else {
		j.shuffle(counts)
	}
	j.left--
	if j.left > 0 {
		return nil
	}
	if !p.reduce {
		j.mapDone = time.Now()
		for i := range j.cfg.reducers {
			j.enqueue(piece{reduce: true, index: i})
		}
		j.left = j.cfg.reducers
		warn("revive", j.client.Revive(ctx))
		return nil
	}
	j.end = time.Now()
	// Leave: tearing down removes the framework at once, so the master
	// need not wait out a failover timeout.
	warn("teardown", j.client.Teardown(ctx))
	return errDone
}

// output reads a finished task's stdout through the masters, trying
// another master (the leader, through a standby's redirect) when the one
// it asked has gone.
func (j *job) output(ctx context.Context, st api.TaskStatus) ([]byte, error) {
	path := api.SandboxPath(st, j.client.FrameworkID(), st.TaskID.Value) + "/stdout"
	var err error
	for attempt := range 5 {
		var out []byte
		if out, err = readAll(ctx, j.ops, st.AgentID.Value, path); err == nil {
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
