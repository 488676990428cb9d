//go:build !linux

package sandbox

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

// StartCommand starts a native task. It is implemented on Linux only;
// elsewhere it returns an error wrapping errors.ErrUnsupported.
func StartCommand(ctx context.Context, spec Spec, c CommandSpec) (Process, error) {
	return nil, fmt.Errorf("start command %q on %s: %w", c.Value, runtime.GOOS, errors.ErrUnsupported)
}
