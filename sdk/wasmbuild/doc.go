// Package wasmbuild compiles Go packages into WebAssembly task modules
// (GOOS=wasip1, GOARCH=wasm) with the Go toolchain on the PATH, so that
// tools and frameworks can take a package directory where a module is
// expected, as `mezzo run ./samples/modules/hello` does.
package wasmbuild
