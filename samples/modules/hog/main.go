// Command hog is a memory hog task module: it allocates memory a mebibyte
// at a time, touching every page, up to the given number of mebibytes
// (until it is stopped without one), printing its total as it goes, so
// that memory limits (mem, limits.memory_pages) can be watched at work.
//
//	mezzo run --mem 64 ./samples/modules/hog            # ends TASK_FAILED, REASON_CONTAINER_LIMITATION_MEMORY
//	mezzo run --mem 64 ./samples/modules/hog -- 16      # fits: prints 16 and exits 0
package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "hog:", err)
		os.Exit(2)
	}
}

// kept holds the allocations so that the collector cannot free them.
var kept [][]byte

func run(args []string, out io.Writer) error {
	limit := -1
	if len(args) > 0 {
		n, err := strconv.Atoi(args[0])
		if err != nil || n < 0 {
			return fmt.Errorf("want a number of mebibytes, got %q", args[0])
		}
		limit = n
	}
	for i := 1; limit < 0 || i <= limit; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = byte(i)
		}
		kept = append(kept, b)
		if i%8 == 0 || i == limit {
			fmt.Fprintf(out, "%d MiB\n", i)
		}
	}
	return nil
}
