package main

import (
	"bytes"
	"testing"
)

func TestHog(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"10"}, &out); err != nil || out.String() != "8 MiB\n10 MiB\n" || len(kept) != 10 {
		t.Fatalf("run 10: %v, %q, kept %d", err, out.String(), len(kept))
	}
	if err := run([]string{"lots"}, &out); err == nil {
		t.Error("run(lots) succeeded")
	}
}
