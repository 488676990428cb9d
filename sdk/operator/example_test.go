package operator_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/mezzo-cluster/mezzo/master"
	"github.com/mezzo-cluster/mezzo/sdk/operator"
)

// Upload a module, list the store, and see a refused module's reason. It
// runs against a real master on loopback.
func ExampleClient_PushModule() {
	addr, stop := startMaster() // a master on loopback
	defer stop()
	ctx := context.Background()
	c := operator.New(addr)

	wasm := []byte("\x00asm\x01\x00\x00\x00") // the smallest valid module
	m, err := c.PushModule(ctx, wasm)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("stored", m.SHA256[:12], m.Size, "bytes")

	mods, err := c.Modules(ctx)
	fmt.Println(len(mods), "module in the store", err)

	_, err = c.PushModule(ctx, []byte("#!/bin/sh"))
	fmt.Println(err)
	// Output:
	// stored 93a44bbb96c7 8 bytes
	// 1 module in the store <nil>
	// push module: 400 Bad Request: invalid module: not a WebAssembly binary: missing the \0asm magic number
}

// startMaster serves a master on a free loopback port until stop is
// called.
func startMaster() (addr string, stop func()) {
	dir, err := os.MkdirTemp("", "operator-example-")
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	cfg := master.DefaultConfig()
	cfg.WorkDir = dir
	cfg.Port = ln.Addr().(*net.TCPAddr).Port
	m, err := master.New(cfg)
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Handler: m.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	return ln.Addr().String(), func() {
		cancel()
		<-done
		srv.Close()
		os.RemoveAll(dir)
	}
}
