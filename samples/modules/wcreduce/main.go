// Command wcreduce is the reduce task of the wordcount sample: it sums
// the "word<TAB>count" lines of the file "input" in its sandbox — the map
// outputs the framework routed to this reducer — and prints the totals in
// the same form.
//
//	GOOS=wasip1 GOARCH=wasm go build -o wcreduce.wasm ./samples/modules/wcreduce
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
