package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	every := time.Second
	if len(os.Args) > 1 {
		d, err := time.ParseDuration(os.Args[1])
		if err != nil || d <= 0 {
			fmt.Fprintf(os.Stderr, "heartbeat: want an interval such as 500ms, got %q\n", os.Args[1])
			os.Exit(2)
		}
		every = d
	}
	beat(os.Stdout, every, -1)
}

// beat prints n heartbeats (forever when n < 0), one per interval.
func beat(out io.Writer, every time.Duration, n int) {
	t := time.NewTicker(every)
	defer t.Stop()
	for i := 1; n < 0 || i <= n; i++ {
		fmt.Fprintf(out, "heartbeat %d %s\n", i, time.Now().UTC().Format(time.RFC3339Nano))
		if n < 0 || i < n {
			<-t.C
		}
	}
}
