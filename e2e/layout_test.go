package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// module is the Go module every package of the repository lives in.
const module = "github.com/mezzo-cluster/mezzo"

// mayImport lists, per top-level package, the top-level packages its
// code may import: the arrows of DESIGN.md ("Packages and what each may
// import"). A package always may import its own sub-packages. Tests are
// left out: they may use whatever real parts they need (the SDK's tests
// run a real master). e2e, which drives everything, is absent: anything
// may be imported by it, and nothing may import it.
var mayImport = map[string][]string{
	"api":     {},
	"sandbox": {"api"},
	"agent":   {"api", "sandbox"},
	"master":  {"api"},
	"sdk":     {"api"},
	"webui":   {"api"},
	"samples": {"api", "sdk"},
	"cmd":     {"api", "sandbox", "agent", "master", "sdk", "webui"},
}

// listedPackage is what go list -json says of a package that the layout
// test reads.
type listedPackage struct {
	ImportPath string
	Dir        string
	Imports    []string
}

// TestLayout checks what DESIGN.md and STYLE.md ask of the tree: every
// package has a doc.go, and a package imports the repository's other
// packages only along the arrows of DESIGN.md.
func TestLayout(t *testing.T) {
	pkgs := listPackages(t)
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages; the repository has dozens", len(pkgs))
	}
	for _, p := range pkgs {
		if _, err := os.Stat(filepath.Join(p.Dir, "doc.go")); err != nil {
			t.Errorf("%s has no doc.go (STYLE.md: every package has one)", p.ImportPath)
		}
		for _, imp := range p.Imports {
			if err := checkArrow(p.ImportPath, imp); err != nil {
				t.Error(err)
			}
		}
	}
}

// TestCheckArrow keeps the layout check honest: imports against the
// arrows are caught, those along them pass.
func TestCheckArrow(t *testing.T) {
	tests := []struct {
		name, from, to string
		ok             bool
	}{
		{"sandbox to api", "sandbox", "api/module", true},
		{"agent to sandbox", "agent/health", "sandbox", true},
		{"cmd to everything", "cmd/mezzo", "master/registry", true},
		{"within a package", "master", "master/allocator", true},
		{"samples to sdk", "samples/jobs", "sdk/scheduler", true},
		{"third party", "api", "github.com/spf13/cobra", true},
		{"api to sandbox", "api", "sandbox", false},
		{"sandbox to agent", "sandbox", "agent", false},
		{"master to agent", "master", "agent", false},
		{"webui to master", "webui", "master", false},
		{"sdk to master", "sdk/scheduler", "master", false},
		{"samples to master", "samples/services", "master", false},
		{"anything to e2e", "cmd/mezzo", "e2e/simagent", false},
		{"an unknown top-level package", "tools", "api", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to := tt.to
			if !strings.Contains(to, ".") {
				to = module + "/" + to
			}
			err := checkArrow(module+"/"+tt.from, to)
			if (err == nil) != tt.ok {
				t.Fatalf("checkArrow(%s, %s) = %v; want ok %v", tt.from, tt.to, err, tt.ok)
			}
		})
	}
}

// checkArrow returns an error when the package from may not import to.
func checkArrow(from, to string) error {
	if to != module && !strings.HasPrefix(to, module+"/") {
		return nil // the standard library or a dependency
	}
	src, dst := topLevel(from), topLevel(to)
	if src == "e2e" {
		return nil
	}
	if src == dst {
		return nil
	}
	allowed, known := mayImport[src]
	if !known {
		return errors.New(from + " is in no top-level package DESIGN.md names (add it to its map and to mayImport)")
	}
	for _, a := range allowed {
		if a == dst {
			return nil
		}
	}
	return errors.New(from + " imports " + to + ", against DESIGN.md's arrows: " + src + " may import only " + strings.Join(append([]string{src}, allowed...), ", "))
}

// topLevel returns the first path element of a package of the module.
func topLevel(path string) string {
	rel := strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
	top, _, _ := strings.Cut(rel, "/")
	return top
}

// listPackages lists the module's packages with go list, as the Go
// toolchain sees them (build constraints included, testdata excluded).
func listPackages(t *testing.T) []listedPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Dir,Imports", "./...")
	cmd.Dir = repoRoot
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}
