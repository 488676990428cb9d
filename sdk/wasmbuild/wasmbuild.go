package wasmbuild

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// BuildError is returned when the Go toolchain refuses the package; Output
// holds what it printed, which is what a user needs to fix the code.
type BuildError struct {
	Package string
	Output  string
	Err     error
}

func (e *BuildError) Error() string {
	return fmt.Sprintf("build %s for wasip1: %v\n%s", e.Package, e.Err, strings.TrimSpace(e.Output))
}

func (e *BuildError) Unwrap() error { return e.Err }

// Build compiles the Go package pkg (a directory, or an import path
// resolvable from dir; dir "" means the current directory) and returns the
// module's bytes. A relative directory such as "samples/modules/hello" is
// taken as "./samples/modules/hello", since that is what a user typing a
// path means.
func Build(ctx context.Context, dir, pkg string) ([]byte, error) {
	if isDir(dir, pkg) && !strings.HasPrefix(pkg, ".") && !filepath.IsAbs(pkg) {
		pkg = "./" + pkg
	}
	tmp, err := os.MkdirTemp("", "mezzo-wasmbuild-")
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", pkg, err)
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "module.wasm")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return nil, &BuildError{Package: pkg, Output: output.String(), Err: err}
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", pkg, err)
	}
	return wasm, nil
}

func isDir(dir, pkg string) bool {
	p := pkg
	if !filepath.IsAbs(p) && dir != "" {
		p = filepath.Join(dir, p)
	}
	info, err := os.Stat(p)
	return err == nil && info.IsDir()
}
