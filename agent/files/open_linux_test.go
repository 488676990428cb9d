package files

import (
	"errors"
	"os"
	"testing"
)

// TestOpenFallback checks the path taken on kernels without openat2.
func TestOpenFallback(t *testing.T) {
	fx := newFixture(t, t.TempDir())
	for _, rel := range []string{"evil-dir/secret", "evil-dotdot/secret", "self/evil-dir/secret"} {
		if f, err := openFallback(fx.root, rel); !errors.Is(err, ErrOutsideRoot) {
			if err == nil {
				f.Close()
			}
			t.Errorf("openFallback(%q) = %v, want ErrOutsideRoot", rel, err)
		}
	}
	if f, err := openFallback(fx.root, "evil-file"); err == nil {
		f.Close()
		t.Errorf("openFallback followed a final link")
	}
	f, err := openFallback(fx.root, run+"/R1/stdout")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestOpenFallbackRacingSwaps(t *testing.T) {
	fx := newFixture(t, t.TempDir())
	h := NewHandler(fx.root)
	hammer(t, fx, func(virtual string) (*os.File, error) {
		root, rel, err := h.resolve(virtual)
		if err != nil {
			return nil, err
		}
		return openFallback(root, rel)
	})
}
