package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

// The fuzz targets' seeds are committed under testdata/fuzz/<Target>/, in
// the "go test fuzz v1" format, so that plain "go test" runs them. They are
// generated from fuzzSeeds below; after changing the seeds, run
//
//	go test -run TestFuzzCorpus -update-fuzz-corpus ./api
var updateFuzzCorpus = flag.Bool("update-fuzz-corpus", false, "rewrite testdata/fuzz from the seed lists")

// hostileJSON are inputs that every decoder must survive: deep nesting,
// huge numbers, bad base64, nulls, wrong types and odd keys.
var hostileJSON = map[string]string{
	"deep-arrays":       strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	"deep-objects":      strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000),
	"deep-container-id": `{"type":"UPDATE","update":{"status":{"container_status":{"container_id":` + strings.Repeat(`{"value":"c","parent":`, 2000) + `null` + strings.Repeat("}", 2000) + `}}}}`,
	"deep-update-list":  `{"type":"UPDATE","updates":[{"status":{"container_status":{"container_id":` + strings.Repeat(`{"value":"c","parent":`, 2000) + `null` + strings.Repeat("}", 2000) + `}}}]}`,
	"huge-numbers":      `{"type":"DECLINE","framework_id":{"value":"f"},"decline":{"filters":{"refuse_seconds":1e999999}},"get_metrics":{"timeout":{"nanoseconds":184467440737095516160000}}}`,
	"numeric-strings":   `{"type":"READ_FILE","read_file":{"path":"p","offset":"18446744073709551615","length":"1e3"}}`,
	"infinity":          `{"type":"DECLINE","framework_id":{"value":"f"},"decline":{"filters":{"refuse_seconds":"-Infinity"}}}`,
	"bad-base64":        `{"type":"ACKNOWLEDGE","framework_id":{"value":"f"},"acknowledge":{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":"o4ZoWNlzQB6nYgf7lmzU9w="},"message":{"data":"%%%"}}`,
	"null-everywhere":   `{"type":null,"framework_id":null,"executor_id":null,"agent_id":null,"subscribe":{"framework_info":null,"agent_info":null,"suppressed_roles":null},"update":{"status":null}}`,
	"null-body":         `null`,
	"wrong-types":       `{"type":["SUBSCRIBE"],"framework_id":"f","subscribe":[],"accept":{"offer_ids":"x"}}`,
	"bool-as-string":    `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","checkpoint":"true"}}}`,
	"case-variant-keys": `{"TYPE":"TEARDOWN","Framework_Id":{"VALUE":"f"}}`,
	"duplicate-keys":    `{"type":"TEARDOWN","type":"SUBSCRIBE","framework_id":{"value":"f"}}`,
	"control-chars":     "{\"type\":\"KILL\",\"framework_id\":{\"value\":\"f\\u0000\"},\"kill\":{\"task_id\":{\"value\":\"\\u001f/..\"}}}",
	"invalid-utf8":      "{\"type\":\"TEARDOWN\",\"framework_id\":{\"value\":\"\xff\xfe\"}}",
	"trailing-garbage":  `{"type":"TEARDOWN","framework_id":{"value":"f"}}}`,
	"empty":             ``,
}

// validCalls are well-formed calls of each API, the starting points for
// mutation.
var validCalls = map[string]map[string]string{
	"FuzzDecodeCall": {
		"revive": `{"type":"REVIVE","framework_id":{"value":"f"},"revive":{"roles":["web"]}}`,
		"kill":   `{"type":"KILL","framework_id":{"value":"f"},"kill":{"task_id":{"value":"t"},"kill_policy":{"grace_period":{"nanoseconds":1}}}}`,
		"wasm-launch": `{"type":"ACCEPT","framework_id":{"value":"f"},"accept":{"offer_ids":[{"value":"o"}],"operations":[{"type":"LAUNCH","launch":{"task_infos":[` +
			`{"name":"w","task_id":{"value":"w"},"agent_id":{"value":"a"},"resources":[{"name":"mem","type":"SCALAR","scalar":{"value":64}}],` +
			`"container":{"type":"WASM","wasm":{"sha256":"` + testSHA256 + `","engine":"wazero","limits":{"fuel":1000}}},"limits":{"cpus":{"value":"Infinity"}}}]}}]}}`,
	},
	"FuzzDecodeAgentCall": {
		"subscribe": `{"type":"SUBSCRIBE","subscribe":{"agent_info":{"hostname":"h","resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":4}}]},` +
			`"tasks":[{"name":"t","task_id":{"value":"t"},"framework_id":{"value":"f"},"agent_id":{"value":"a"},"state":"TASK_RUNNING"}],` +
			`"executors":[{"type":"CUSTOM","executor_id":{"value":"x"},"framework_id":{"value":"f"},"command":{"value":"./x"},` +
			`"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.5}}]}]}}`,
		"executor-exited": `{"type":"EXECUTOR_EXITED","agent_id":{"value":"a"},"executor_exited":{"framework_id":{"value":"f"},"executor_id":{"value":"x"},"status":9}}`,
		"update": `{"type":"UPDATE","agent_id":{"value":"a"},"updates":[{"framework_id":{"value":"f"},` +
			`"status":{"task_id":{"value":"t"},"state":"TASK_FINISHED","uuid":"o4ZoWNlzQB6nYgf7lmzU9w=="}},` +
			`{"framework_id":{"value":"f"},"status":{"task_id":{"value":"u"},"state":"TASK_RUNNING","uuid":"o4ZoWNlzQB6nYgf7lmzU9w=="}}]}`,
		"message": `{"type":"MESSAGE","agent_id":{"value":"a"},"message":{"framework_id":{"value":"f"},"executor_id":{"value":"e"},"data":"aGk="}}`,
	},
	"FuzzDecodeExecutorCall": {
		"subscribe": `{"executor_id":{"value":"e"},"framework_id":{"value":"f"},"type":"SUBSCRIBE","subscribe":{` +
			`"unacknowledged_tasks":[{"name":"t","task_id":{"value":"t"},"agent_id":{"value":"a"},"command":{"value":"true"}}],` +
			`"unacknowledged_updates":[{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING","source":"SOURCE_EXECUTOR","uuid":"o4ZoWNlzQB6nYgf7lmzU9w=="}}]}}`,
		"update": `{"executor_id":{"value":"e"},"framework_id":{"value":"f"},"type":"UPDATE","update":{"status":` +
			`{"task_id":{"value":"t"},"state":"TASK_RUNNING","source":"SOURCE_EXECUTOR","uuid":"o4ZoWNlzQB6nYgf7lmzU9w==","timestamp":1718000000.5}}}`,
		"update-more": `{"executor_id":{"value":"e"},"framework_id":{"value":"f"},"type":"UPDATE","update":{"status":` +
			`{"task_id":{"value":"t"},"state":"TASK_RUNNING","source":"SOURCE_EXECUTOR","uuid":"o4ZoWNlzQB6nYgf7lmzU9w==","timestamp":1718000000.5}},` +
			`"more_updates":[{"status":{"task_id":{"value":"t"},"state":"TASK_FINISHED","source":"SOURCE_EXECUTOR","uuid":"o4ZoWNlzQB6nYgf7lmzU+A==","timestamp":1718000000.75}},` +
			`{"status":{"task_id":{"value":"u"},"state":"TASK_RUNNING","source":"SOURCE_EXECUTOR","uuid":"o4ZoWNlzQB6nYgf7lmzU+Q=="}}]}`,
		"message":   `{"executor_id":{"value":"e"},"framework_id":{"value":"f"},"type":"MESSAGE","message":{"data":"aGk="}}`,
		"heartbeat": `{"executor_id":{"value":"e"},"framework_id":{"value":"f"},"type":"HEARTBEAT"}`,
	},
	"FuzzDecodeOperatorCall": {
		"get-state":   `{"type":"GET_STATE"}`,
		"get-metrics": `{"type":"GET_METRICS","get_metrics":{"timeout":{"nanoseconds":5000000000}}}`,
		"read-file":   `{"type":"READ_FILE","read_file":{"path":"/master/log","offset":0,"length":4096}}`,
		"reserve": `{"type":"RESERVE_RESOURCES","reserve_resources":{"agent_id":{"value":"a"},"resources":[{"name":"cpus","type":"SCALAR",` +
			`"scalar":{"value":1},"reservations":[{"type":"DYNAMIC","role":"web","principal":"ops"}]}]}}`,
		"drain":        `{"type":"DRAIN_AGENT","drain_agent":{"agent_id":{"value":"a"},"max_grace_period":{"seconds":"10","nanos":5},"mark_gone":true}}`,
		"update-quota": `{"type":"UPDATE_QUOTA","update_quota":{"quota_configs":[{"role":"web","limits":{"cpus":{"value":4}}}]}}`,
		"maintenance": `{"type":"UPDATE_MAINTENANCE_SCHEDULE","update_maintenance_schedule":{"schedule":{"windows":[{"machine_ids":[{"hostname":"h"}],` +
			`"unavailability":{"start":{"nanoseconds":1}}}]}}}`,
		"teardown": `{"type":"TEARDOWN","teardown":{"framework_id":{"value":"f"}}}`,
	},
}

// fuzzSeeds returns the seeds of a fuzz target, by file name.
func fuzzSeeds(t testing.TB, target string) map[string][]byte {
	seeds := map[string][]byte{}
	if target == "FuzzRecordReader" {
		for name, s := range map[string]string{
			"heartbeats":      "20\n{\"type\":\"HEARTBEAT\"}20\n{\"type\":\"HEARTBEAT\"}",
			"newlines":        "5\n1\n2\n\n",
			"zero-length":     "0\n",
			"empty-length":    "\nabc",
			"non-digit":       "1x\na",
			"cut-record":      "10\nabc",
			"cut-length":      "12",
			"too-large":       "16777217\n",
			"absurd-length":   "99999999999999999999999999\n",
			"uint64-overflow": "18446744073709551616\n",
		} {
			seeds[name] = []byte(s)
		}
		for _, g := range goldens {
			seeds["golden-"+g.name] = AppendRecord(nil, readGolden(t, g.name+".json"))
		}
		return seeds
	}
	for name, s := range hostileJSON {
		seeds["hostile-"+name] = []byte(s)
	}
	for name, s := range validCalls[target] {
		seeds["valid-"+name] = []byte(s)
	}
	if target == "FuzzDecodeCall" {
		for _, g := range goldens {
			seeds["golden-"+g.name] = readGolden(t, g.name+".json")
		}
	}
	return seeds
}

var fuzzTargets = []string{"FuzzRecordReader", "FuzzDecodeCall", "FuzzDecodeAgentCall", "FuzzDecodeExecutorCall", "FuzzDecodeOperatorCall"}

// TestFuzzCorpus checks that the committed seed corpora hold every seed,
// and rewrites them with -update-fuzz-corpus.
func TestFuzzCorpus(t *testing.T) {
	for _, target := range fuzzTargets {
		dir := filepath.Join("testdata", "fuzz", target)
		for name, seed := range fuzzSeeds(t, target) {
			path := filepath.Join(dir, "seed-"+name)
			want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", seed)
			if *updateFuzzCorpus {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != want {
				t.Errorf("%s is missing or stale (%v); run with -update-fuzz-corpus", path, err)
			}
		}
	}
}

func FuzzRecordReader(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		// Any stream: no panic, and chunk boundaries do not matter.
		whole, errWhole := readAllRecords(NewRecordReader(bytes.NewReader(data)))
		bytewise, errBytewise := readAllRecords(NewRecordReader(iotest.OneByteReader(bytes.NewReader(data))))
		if fmt.Sprint(whole) != fmt.Sprint(bytewise) || fmt.Sprint(errWhole) != fmt.Sprint(errBytewise) {
			t.Fatalf("chunking changed the result: %q, %v vs %q, %v", whole, errWhole, bytewise, errBytewise)
		}
		// Records framed by AppendRecord read back identically. The input,
		// split at NUL bytes, gives the records; empty records cannot be
		// framed.
		var records []string
		var stream []byte
		for _, r := range bytes.Split(data, []byte{0}) {
			if len(r) > 0 {
				records = append(records, string(r))
				stream = AppendRecord(stream, r)
			}
		}
		got, err := readAllRecords(NewRecordReader(iotest.OneByteReader(bytes.NewReader(stream))))
		if !errors.Is(err, io.EOF) || fmt.Sprint(got) != fmt.Sprint(records) {
			t.Fatalf("read back %q, %v; want %q", got, err, records)
		}
	})
}

func FuzzDecodeCall(f *testing.F)         { fuzzDecode(f, DecodeCall) }
func FuzzDecodeAgentCall(f *testing.F)    { fuzzDecode(f, DecodeAgentCall) }
func FuzzDecodeExecutorCall(f *testing.F) { fuzzDecode(f, DecodeExecutorCall) }
func FuzzDecodeOperatorCall(f *testing.F) { fuzzDecode(f, DecodeOperatorCall) }

// fuzzDecode checks that decode never panics, returns a call or an error
// but not both, and that a call it accepts re-encodes to JSON that it
// accepts again and that re-encodes identically (so the call survives a
// round trip on the wire: encoding is deterministic and prints what
// decoding reads).
func fuzzDecode[T any](f *testing.F, decode func([]byte) (*T, error)) {
	f.Fuzz(func(t *testing.T, data []byte) {
		call, err := decode(data)
		if err != nil {
			if call != nil {
				t.Fatalf("decode returned both a call and %v", err)
			}
			return
		}
		first, err := json.Marshal(call)
		if err != nil {
			t.Fatalf("encode a decoded call: %v", err)
		}
		again, err := decode(first)
		if err != nil {
			t.Fatalf("decode the re-encoded call: %v\n%s", err, first)
		}
		second, err := json.Marshal(again)
		if err != nil {
			t.Fatalf("encode again: %v", err)
		}
		if !bytes.Equal(first, second) {
			t.Fatalf("round trip changed the call:\n%s\n%s", first, second)
		}
	})
}

// TestValidSeedsDecode checks that the valid seeds are accepted, so that
// fuzzing starts from calls that reach the round-trip checks.
func TestValidSeedsDecode(t *testing.T) {
	decoders := map[string]func([]byte) error{
		"FuzzDecodeCall":         func(b []byte) error { _, err := DecodeCall(b); return err },
		"FuzzDecodeAgentCall":    func(b []byte) error { _, err := DecodeAgentCall(b); return err },
		"FuzzDecodeExecutorCall": func(b []byte) error { _, err := DecodeExecutorCall(b); return err },
		"FuzzDecodeOperatorCall": func(b []byte) error { _, err := DecodeOperatorCall(b); return err },
	}
	for target, calls := range validCalls {
		for name, body := range calls {
			if err := decoders[target]([]byte(body)); err != nil {
				t.Errorf("%s seed %s: %v", target, name, err)
			}
		}
	}
}
