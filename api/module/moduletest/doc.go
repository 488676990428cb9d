// Package moduletest builds WebAssembly modules inside tests, for the
// shapes that are too large to keep as bytes beside their .wat sources
// (sandbox/testdata), as net/http/httptest builds servers.
package moduletest
