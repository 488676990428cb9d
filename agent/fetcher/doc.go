// Package fetcher downloads a task's CommandInfo.uris into its sandbox
// before the task starts, as the Mesos fetcher does.
//
// An agent makes one Fetcher and calls it for every task it launches:
//
//	f, err := fetcher.New(fetcher.Config{
//		CacheDir:  filepath.Join(workDir, "fetch-cache"),
//		ModuleURL: func(sha string) string { return masterURL + "/api/v1/modules/" + sha },
//	})
//	err = f.FetchAll(ctx, task.Command.URIs, sandboxDir,
//		fetcher.Limit{Bytes: 100 << 20, Origin: "the task's disk of 100 MB"})
//
// A URI is an http:// or https:// URL, a file:// URL or absolute path on
// the agent (copied), or "module:<sha256>", a module stored on the master,
// downloaded through Config.ModuleURL and checked against its hash:
//
//	{"value": "https://example.org/app.tgz"}                   // extracted into the sandbox
//	{"value": "https://example.org/tool", "executable": true}  // sandbox/tool, mode 0755
//	{"value": "/opt/data.zip", "extract": false}              // sandbox/data.zip, copied
//	{"value": "module:9f86d0…", "output_file": "app.wasm"}    // sandbox/app.wasm
//
// Archives (.tar, .tar.gz, .tgz, .tar.bz2, .tbz2, .zip) are extracted into
// the sandbox directory and .gz files are decompressed, unless extract is
// false or executable is true. Extraction is confined: an entry that names
// a path outside the sandbox, a link that leads outside, a device file or
// more than Config.MaxExtract bytes in all fails the fetch with an error
// naming the entry. The Limit passed to FetchAll bounds everything one
// call writes into the sandbox, all its URIs together, as it is written,
// and its Shared Room what the calls under way write together. Every
// fetch writes to a temporary file or directory in
// the sandbox and renames the result into place, so a failed fetch leaves
// nothing half-written there. With cache set and a Config.CacheDir, the
// downloaded bytes are kept under a hash of the URI and later fetches of
// the same URI copy them without downloading again.
//
// A Fetcher is safe for concurrent use by multiple goroutines; concurrent
// fetches of one cached URI share a single download.
package fetcher
