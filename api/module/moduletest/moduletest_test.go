package moduletest_test

import (
	"testing"

	"github.com/mezzo-cluster/mezzo/api/module"
	"github.com/mezzo-cluster/mezzo/api/module/moduletest"
)

// TestManyFunctions checks that the modules are what Validate accepts,
// with the functions asked for and _start exported.
func TestManyFunctions(t *testing.T) {
	for _, n := range []int{1, 10, 100_000} {
		info, err := module.Validate(moduletest.ManyFunctions(n), module.DefaultLimits())
		if err != nil {
			t.Fatalf("ManyFunctions(%d): %v", n, err)
		}
		if _, ok := info.Export("_start"); info.Functions != n || !ok {
			t.Errorf("ManyFunctions(%d): %d functions, _start exported: %v", n, info.Functions, ok)
		}
	}
	if _, err := module.Validate(moduletest.ManyFunctions(100_001), module.DefaultLimits()); err == nil {
		t.Error("ManyFunctions(100,001) is within the default limits; its doc says 100,000 is the most")
	}
}
