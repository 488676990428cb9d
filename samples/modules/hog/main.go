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
