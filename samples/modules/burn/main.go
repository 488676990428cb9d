package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "burn:", err)
		os.Exit(2)
	}
}

func run(args []string, out io.Writer) error {
	var d time.Duration
	if len(args) > 0 {
		var err error
		if d, err = time.ParseDuration(args[0]); err != nil || d < 0 {
			return fmt.Errorf("want a duration such as 2s, got %q", args[0])
		}
	}
	start := time.Now()
	block := make([]byte, 64<<10)
	sum := sha256.Sum256(block)
	n := 0
	for d == 0 || time.Since(start) < d {
		for range 64 {
			copy(block, sum[:])
			sum = sha256.Sum256(block)
			n++
		}
	}
	fmt.Fprintf(out, "hashed %d MiB in %v: %x\n", n/16, time.Since(start).Round(time.Millisecond), sum[:8])
	return nil
}
