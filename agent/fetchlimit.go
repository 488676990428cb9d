package agent

import (
	"fmt"
	"math"
	"strconv"

	"github.com/mezzo-cluster/mezzo/agent/fetcher"
)

// fetchLimit returns what one fetch (a task's URIs, or a custom
// executor's) may write into the sandbox dir, for fetcher.FetchAll: at
// most disk, the sandbox disk the task or executor (whose) asked for, 0
// for none, and at most the free space of dir's file system now less the
// reserve Config.SandboxGCHeadroom keeps free. Why both: the disk
// resource is what the task was given, but a task without one, or many
// tasks fetching at once, could still fill the disk that other tasks,
// the agent's own state and, under "mezzo dev", the master's registry
// write to; the headroom is the share of that disk the agent already
// strives to keep free, so a fetch may not take it either. Where the
// free space cannot be read (not Linux), only disk bounds the fetch.
//
// The free space less the reserve is also the agent's fetchRoom, which
// the fetches under way share (Limit.Shared), each byte they write taken
// from it: two fetches starting together each read the same free space,
// and must not both count on it. Every sandbox is under the sandbox
// root, on one file system, so one room serves them all. It is measured
// again as each fetch starts, counting what those under way have written
// so far, and anything else that took or freed room meanwhile.
func (a *Agent) fetchLimit(disk uint64, whose, dir string) fetcher.Limit {
	space := a.cfg.diskSpace
	if space == nil {
		space = diskSpace
	}
	total, free, ok := space(dir)
	if !ok {
		return fetchLimitOf(disk, whose, 0, math.Inf(1), a.cfg.SandboxGCHeadroom)
	}
	l := fetchLimitOf(disk, whose, total, free, a.cfg.SandboxGCHeadroom)
	room := max(free-a.cfg.SandboxGCHeadroom*total, 0)
	a.fetchRoom.Set(int64(room),
		fmt.Sprintf("the %s free on the agent's disk less its reserve, which the fetches under way share", megabytes(free)))
	l.Shared = &a.fetchRoom
	return l
}

// fetchLimitOf is fetchLimit once the file system's total and free bytes
// are known (free +Inf when they are not).
func fetchLimitOf(disk uint64, whose string, total, free, headroom float64) fetcher.Limit {
	var l fetcher.Limit
	if disk > 0 {
		l = fetcher.Limit{
			Bytes:  int64(min(disk, math.MaxInt64)),
			Origin: fmt.Sprintf("the %s's disk of %s", whose, megabytes(float64(disk))),
		}
	}
	if room := free - headroom*total; !math.IsInf(room, 1) && (!l.Bounded() || room < float64(l.Bytes)) {
		l = fetcher.Limit{
			Bytes:  int64(max(room, 0)),
			Origin: fmt.Sprintf("the %s free on the agent's disk, less its reserve", megabytes(free)),
		}
	}
	return l
}

// megabytes says n bytes in MB, as Mesos's resources count them, to the
// thousandth at most.
func megabytes(n float64) string {
	return strconv.FormatFloat(math.Round(n/(1<<20)*1000)/1000, 'f', -1, 64) + " MB"
}
