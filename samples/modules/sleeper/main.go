package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	d, err := duration(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "sleeper:", err)
		os.Exit(2)
	}
	fmt.Printf("sleeping %v\n", d)
	time.Sleep(d)
	fmt.Println("awake")
}

func duration(args []string) (time.Duration, error) {
	if len(args) == 0 {
		return time.Hour, nil
	}
	d, err := time.ParseDuration(args[0])
	if err != nil || d < 0 {
		return 0, fmt.Errorf("want a duration such as 30s, got %q", args[0])
	}
	return d, nil
}
