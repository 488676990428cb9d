package sandbox

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestCloseInheritedOnExec starts a helper process that inherits open
// descriptors 3 to 7, as an agent started from a shell or a supervisor
// may: after CloseInheritedOnExec, a process it starts inherits none of
// them.
func TestCloseInheritedOnExec(t *testing.T) {
	if os.Getenv("MEZZO_TEST_INHERITED_FDS") != "" {
		return // the helper is TestHelperInheritedFDs
	}
	var files []*os.File
	for range 5 {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		defer w.Close()
		files = append(files, w)
	}
	for _, mark := range []string{"no", "yes"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperInheritedFDs$", "-test.v")
		cmd.Env = append(os.Environ(), "MEZZO_TEST_INHERITED_FDS="+mark)
		cmd.ExtraFiles = files // descriptors 3 to 7 of the helper
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("helper: %v\n%s", err, out)
		}
		leaked := strings.Contains(string(out), "fd 7 inherited")
		if want := mark == "no"; leaked != want {
			t.Errorf("marked %s: descriptor 7 reached the helper's child %v, want %v\n%s", mark, leaked, want, out)
		}
	}
}

// TestHelperInheritedFDs is the process of TestCloseInheritedOnExec.
func TestHelperInheritedFDs(t *testing.T) {
	mark := os.Getenv("MEZZO_TEST_INHERITED_FDS")
	if mark == "" {
		t.Skip("run by TestCloseInheritedOnExec")
	}
	if mark == "yes" {
		if err := CloseInheritedOnExec(); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command("sh", "-c", "if [ -e /proc/self/fd/7 ]; then echo fd 7 inherited; else echo fd 7 closed; fi").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	t.Log(strings.TrimSpace(string(out)))
}
