package agent

import (
	"math"
	"runtime"

	"github.com/mezzo-cluster/mezzo/api"
)

// DetectResources returns what this machine offers, as Mesos's agent
// computes it: every CPU; memory less a headroom of 1 GiB or half,
// whichever is smaller; disk available under workDir less 10 % headroom;
// ports 31000-32000. Where a figure cannot be read, Mesos's fallback
// (1 GiB memory, 10 GiB disk) is used.
func DetectResources(workDir string) api.Resources {
	mem := 1024.0
	if total, ok := totalMemoryMB(); ok {
		mem = total - math.Min(1024, total/2)
	}
	disk := 10240.0
	if avail, ok := diskMB(workDir); ok {
		disk = avail * 0.9
	}
	scalar := func(name string, v float64) api.Resource {
		return api.Resource{Name: name, Type: api.SCALAR, Scalar: &api.Scalar{Value: api.Float64(math.Floor(v))}}
	}
	return api.Resources{
		scalar("cpus", float64(runtime.NumCPU())),
		scalar("mem", mem),
		scalar("disk", disk),
		{Name: "ports", Type: api.RANGES, Ranges: &api.Ranges{Range: []api.Range{{Begin: 31000, End: 32000}}}},
	}
}
