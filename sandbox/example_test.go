//go:build linux

package sandbox_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/mezzo-cluster/mezzo/sandbox"
)

// exit7 is testdata/exit7.wat: a module that exits with code 7 through
// WASI.
var exit7 = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x60,
	0x01, 0x7f, 0x00, 0x60, 0x00, 0x00, 0x02, 0x24, 0x01, 0x16, 0x77, 0x61,
	0x73, 0x69, 0x5f, 0x73, 0x6e, 0x61, 0x70, 0x73, 0x68, 0x6f, 0x74, 0x5f,
	0x70, 0x72, 0x65, 0x76, 0x69, 0x65, 0x77, 0x31, 0x09, 0x70, 0x72, 0x6f,
	0x63, 0x5f, 0x65, 0x78, 0x69, 0x74, 0x00, 0x00, 0x03, 0x02, 0x01, 0x01,
	0x05, 0x03, 0x01, 0x00, 0x01, 0x07, 0x13, 0x02, 0x06, 0x6d, 0x65, 0x6d,
	0x6f, 0x72, 0x79, 0x02, 0x00, 0x06, 0x5f, 0x73, 0x74, 0x61, 0x72, 0x74,
	0x00, 0x01, 0x0a, 0x08, 0x01, 0x06, 0x00, 0x41, 0x07, 0x10, 0x00, 0x0b,
}

func ExampleEngine_StartWasm() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sandbox-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	e, err := sandbox.NewEngine(ctx, sandbox.EngineConfig{})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close(ctx)
	m, err := e.Compile(ctx, exit7)
	if err != nil {
		log.Fatal(err)
	}
	p, err := e.StartWasm(ctx, m, sandbox.Spec{Dir: dir, MemoryBytes: 1 << 20}, sandbox.WasmSpec{Name: "exit7"})
	if err != nil {
		log.Fatal(err)
	}
	r := p.Wait()
	fmt.Println(r.ExitCode, r.Reason, r.Err)
	// Output: 7 none <nil>
}

// loop is testdata/loop.wat: a module that spins forever.
var loop = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60,
	0x00, 0x00, 0x03, 0x02, 0x01, 0x00, 0x07, 0x0a, 0x01, 0x06, 0x5f, 0x73,
	0x74, 0x61, 0x72, 0x74, 0x00, 0x00, 0x0a, 0x09, 0x01, 0x07, 0x00, 0x03,
	0x40, 0x0c, 0x00, 0x0b, 0x0b,
}

// A runaway guest is stopped when its CPU time passes its budget, on
// either engine.
func ExampleSpec_cpuTime() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sandbox-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	e, err := sandbox.NewEngine(ctx, sandbox.EngineConfig{})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close(ctx)
	m, err := e.Compile(ctx, loop)
	if err != nil {
		log.Fatal(err)
	}
	for _, engine := range []string{sandbox.Wazero, ""} { // "": the default
		p, err := e.StartWasm(ctx, m, sandbox.Spec{Dir: dir, CPUTime: 20 * time.Millisecond},
			sandbox.WasmSpec{Engine: engine})
		if err != nil {
			log.Fatal(err)
		}
		r := p.Wait()
		fmt.Println(r.ExitCode, r.Reason, r.Usage.CPUSeconds >= 0.02)
	}
	// Output:
	// -1 cpu limit true
	// -1 cpu limit true
}

func ExampleStartCommand() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sandbox-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	p, err := sandbox.StartCommand(ctx,
		sandbox.Spec{Dir: dir, Env: map[string]string{"WHO": "world"}},
		sandbox.CommandSpec{Shell: true, Value: `echo "hello, $WHO"; exit 3`})
	if err != nil {
		log.Fatal(err)
	}
	r := p.Wait()
	out, _ := os.ReadFile(filepath.Join(dir, sandbox.StdoutFile))
	fmt.Printf("%s%d %v\n", out, r.ExitCode, r.Reason)
	// Output:
	// hello, world
	// 3 none
}
