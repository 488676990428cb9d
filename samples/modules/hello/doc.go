// Command hello is the smallest Mezzo task module: it greets each of its
// arguments and prints the GREETING environment variable, so that a run
// shows both reached the module. Build it for WebAssembly with
//
//	GOOS=wasip1 GOARCH=wasm go build -o hello.wasm ./samples/modules/hello
//
// or let `mezzo run ./samples/modules/hello -- world` build and run it.
package main
