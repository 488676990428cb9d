// Command sleeper prints "sleeping" and sleeps for an hour, or for the
// duration in its first argument.
package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	d := time.Hour
	if len(os.Args) > 1 {
		d, _ = time.ParseDuration(os.Args[1])
	}
	fmt.Println("sleeping")
	time.Sleep(d)
	fmt.Println("woke")
}
