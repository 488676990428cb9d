// Command hello prints its arguments, environment and working directory to
// stdout and a line to stderr, then exits with the code in $EXIT_CODE (0 if
// unset).
package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
)

func main() {
	for i, a := range os.Args {
		fmt.Printf("arg %d=%s\n", i, a)
	}
	env := os.Environ()
	sort.Strings(env)
	for _, kv := range env {
		fmt.Printf("env %s\n", kv)
	}
	wd, err := os.Getwd()
	fmt.Printf("cwd %s %v\n", wd, err)
	fmt.Fprintln(os.Stderr, "hello on stderr")
	code, _ := strconv.Atoi(os.Getenv("EXIT_CODE"))
	os.Exit(code)
}
