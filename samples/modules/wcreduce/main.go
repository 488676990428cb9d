package main

import (
	"fmt"
	"os"

	"github.com/mezzo-cluster/mezzo/samples/wordcount/words"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "wcreduce:", err)
		os.Exit(1)
	}
}

func run() error {
	f, err := os.Open("input")
	if err != nil {
		return err
	}
	defer f.Close()
	counts := map[string]int64{}
	if err := words.ReadCounts(f, counts); err != nil {
		return err
	}
	return words.WriteCounts(os.Stdout, counts)
}
