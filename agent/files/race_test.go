package files

import (
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestOpenRacingSwaps reads a file while another goroutine keeps swapping
// the directory it is in for a link to the outside; no read may ever see
// the outside file. (Resolve followed by os.Open fails this test: the swap
// lands between the check and the open a few times a second.)
func TestOpenRacingSwaps(t *testing.T) {
	fx := newFixture(t, t.TempDir())
	hammer(t, fx, NewHandler(fx.root).Open)
}

// hammer runs the swapping race of TestOpenRacingSwaps against open.
func hammer(t *testing.T, fx *fixture, open func(virtual string) (*os.File, error)) {
	t.Helper()
	dir := filepath.Join(fx.root, "swap")
	must(t, os.MkdirAll(dir, 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "secret"), []byte("inside"), 0o644))
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			for _, err := range []error{
				os.Rename(dir, dir+".real"),
				os.Symlink(fx.outside, dir),
				os.Remove(dir),
				os.Rename(dir+".real", dir),
			} {
				if err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	var opened, leaked atomic.Int64
	deadline := time.Now().Add(500 * time.Millisecond)
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				f, err := open("swap/secret")
				if err != nil {
					continue
				}
				b, _ := io.ReadAll(f)
				f.Close()
				opened.Add(1)
				if string(b) != "inside" {
					leaked.Add(1)
				}
			}
		}()
	}
	time.Sleep(time.Until(deadline))
	stop.Store(true)
	wg.Wait()
	if leaked.Load() > 0 {
		t.Fatalf("%d of %d opens read the outside file", leaked.Load(), opened.Load())
	}
	t.Logf("%d opens, none outside", opened.Load())
}
