// Command waitfile is a Wasm task for the recovery tests: it runs until
// the file named by its argument appears in its sandbox, then exits 0.
package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: waitfile FILE")
		os.Exit(2)
	}
	fmt.Println("waiting for", os.Args[1])
	for {
		if _, err := os.Stat(os.Args[1]); err == nil {
			fmt.Println("found", os.Args[1])
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
