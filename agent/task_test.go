package agent

import (
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
)

func TestMemoryBytes(t *testing.T) {
	res, err := api.ParseResources("cpus:1;mem:128")
	if err != nil {
		t.Fatal(err)
	}
	if got := memoryBytes(res); got != 128<<20 {
		t.Fatalf("memoryBytes = %d, want %d", got, 128<<20)
	}
	if got := memoryBytes(nil); got != 0 {
		t.Fatalf("memoryBytes(nil) = %d, want 0 (no limit)", got)
	}
}
