package files

import (
	"io/fs"
	"testing"
)

func TestLsMode(t *testing.T) {
	tests := []struct {
		mode fs.FileMode
		want string
	}{
		{0o644, "-rw-r--r--"},
		{fs.ModeDir | 0o755, "drwxr-xr-x"},
		{fs.ModeSymlink | 0o777, "lrwxrwxrwx"},
		{fs.ModeNamedPipe | 0o600, "prw-------"},
		{fs.ModeSocket | 0o755, "srwxr-xr-x"},
		{fs.ModeDevice | fs.ModeCharDevice | 0o666, "crw-rw-rw-"},
		{fs.ModeDevice | 0o660, "brw-rw----"},
		{fs.ModeSetuid | 0o4755&0o777, "-rwsr-xr-x"},
		{fs.ModeSetuid | 0o644, "-rwSr--r--"},
		{fs.ModeSetgid | 0o750, "-rwxr-s---"},
		{fs.ModeSetgid | 0o740, "-rwxr-S---"},
		{fs.ModeDir | fs.ModeSticky | 0o777, "drwxrwxrwt"},
		{fs.ModeDir | fs.ModeSticky | 0o776, "drwxrwxrwT"},
		{fs.ModeIrregular, "?---------"},
	}
	for _, tt := range tests {
		if got := lsMode(tt.mode); got != tt.want {
			t.Errorf("lsMode(%v) = %q, want %q", tt.mode, got, tt.want)
		}
	}
}

func TestValidCallback(t *testing.T) {
	for cb, want := range map[string]bool{
		"cb": true, "angular.callbacks._0": true, "$x.y_2": true,
		"": false, "a..b": false, ".a": false, "1a": false, "a(1)": false,
		"a;alert(1)": false, "a b": false, "<script>": false,
	} {
		if got := validCallback(cb); got != want {
			t.Errorf("validCallback(%q) = %v, want %v", cb, got, want)
		}
	}
}

func TestOwnersFallBackToNumbers(t *testing.T) {
	var o owners
	if got := o.user(4000000001); got != "4000000001" {
		t.Errorf("user(unknown) = %q", got)
	}
	if got := o.group(4000000001); got != "4000000001" {
		t.Errorf("group(unknown) = %q", got)
	}
}
