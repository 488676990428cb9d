package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestBurn(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"20ms"}, &out); err != nil || !strings.HasPrefix(out.String(), "hashed ") {
		t.Fatalf("run 20ms: %v, %q", err, out.String())
	}
	for _, bad := range []string{"soon", "-1s"} {
		if err := run([]string{bad}, &out); err == nil {
			t.Errorf("run(%q) succeeded", bad)
		}
	}
}
