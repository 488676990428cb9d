// Command wcmap is the map task of the wordcount sample: it counts the
// words of the file "input" in its sandbox, which the framework has it
// fetch, and prints the counts as "word<TAB>count" lines for the
// framework to shuffle to the reducers.
//
//	GOOS=wasip1 GOARCH=wasm go build -o wcmap.wasm ./samples/modules/wcmap
package main

import (
	"fmt"
	"os"

	"github.com/mezzo-cluster/mezzo/samples/wordcount/words"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "wcmap:", err)
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
	if err := words.Count(f, counts); err != nil {
		return err
	}
	return words.WriteCounts(os.Stdout, counts)
}
