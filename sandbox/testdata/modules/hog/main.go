// Command hog allocates memory a mebibyte at a time, touching every page,
// until the Go runtime fails ("out of memory", exit code 2).
package main

import "fmt"

var keep [][]byte

func main() {
	for i := 1; ; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		keep = append(keep, b)
		if i%16 == 0 {
			fmt.Printf("%d MiB\n", i)
		}
	}
}
