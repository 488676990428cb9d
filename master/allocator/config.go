package allocator

import (
	"errors"
	"fmt"

	"github.com/mezzo-cluster/mezzo/api"
)

// Config tunes an Allocator. The zero Config is valid: no minimum offer
// size, every scalar counted in shares, GPU agents offered to everyone.
// DefaultConfig gives Mesos's defaults.
type Config struct {
	// MinAllocatable lists alternatives: a set of resources is worth
	// offering if it holds at least one of them in full (Mesos's
	// --min_allocatable_resources, default cpus:0.01 | mem:32). Scalars
	// compare by value, ranges and sets by their number of elements. Empty
	// means any non-empty set is worth offering. A framework's
	// FrameworkOptions.MinAllocatable overrides it per role.
	MinAllocatable []api.Resources

	// FairnessExcluded names resources that DRF shares ignore (Mesos's
	// --fair_sharing_excluded_resource_names), such as "gpus".
	FairnessExcluded []string

	// FilterGPUResources hides agents that have GPUs from frameworks that
	// lack the GPU_RESOURCES capability (FrameworkOptions.GPU), as Mesos's
	// --filter_gpu_resources does (default true there).
	FilterGPUResources bool

	// Seed varies the order in which agents are visited. The order is a
	// function of Seed, the pass number and the agents, never of the
	// clock, so a replay gives the same offers.
	Seed uint64
}

// DefaultConfig returns Mesos's defaults: minimum allocatable
// cpus:0.01 | mem:32, no excluded resources, GPU filtering on.
func DefaultConfig() Config {
	return Config{
		MinAllocatable: []api.Resources{
			{api.ScalarResource("cpus", 0.01)},
			{api.ScalarResource("mem", 32)},
		},
		FilterGPUResources: true,
	}
}

// Validate reports the first invalid field: an invalid resource in
// MinAllocatable, or an empty name in FairnessExcluded.
func (c Config) Validate() error {
	for i, alt := range c.MinAllocatable {
		if err := api.ValidateResources(alt); err != nil {
			return fmt.Errorf("MinAllocatable[%d]: %w", i, err)
		}
	}
	for i, name := range c.FairnessExcluded {
		if name == "" {
			return fmt.Errorf("FairnessExcluded[%d]: %w", i, errors.New("empty resource name"))
		}
	}
	return nil
}
