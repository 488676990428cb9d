// Command guest is the Go program the sandbox tests run as a Wasm task
// (GOOS=wasip1). Its first argument picks what it does:
//
//	hello [args...]     print the arguments, the environment and the
//	                    working directory to stdout and a line to stderr,
//	                    then exit with the code in $EXIT_CODE (0 if unset)
//	files [names...]    read each file and print it or the error, then try
//	                    to escape the sandbox through a symbolic link, and
//	                    write written.txt
//	hog                 allocate memory a mebibyte at a time until the Go
//	                    runtime dies ("out of memory", exit code 2)
//	sleep [duration]    print "sleeping" and sleep (an hour by default)
//	wait name           print "waiting", wait until the file name exists,
//	                    then print "done"
//	lines [texts...]    print each text on a line of its own
//	hash [n]            hash a mebibyte with SHA-256 n times (64 by
//	                    default) and print the digest: CPU-bound Go code
//
// One program rather than one per behaviour, because compiling a Go
// module with wazero takes seconds (tens of seconds under -race).
package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: guest hello|files|hog|sleep|wait|hash|lines [args]")
		os.Exit(64)
	}
	switch os.Args[1] {
	case "hello":
		hello()
	case "files":
		files(os.Args[2:])
	case "hog":
		hog()
	case "sleep":
		sleep(os.Args[2:])
	case "hash":
		hash(os.Args[2:])
	case "wait":
		wait(os.Args[2:])
	case "lines":
		for _, a := range os.Args[2:] {
			fmt.Println(a) // one write each, as a chatty program makes
		}
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n", os.Args[1])
		os.Exit(64)
	}
}

func hello() {
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

func files(names []string) {
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			fmt.Printf("read %s: error: %v\n", name, err)
			continue
		}
		fmt.Printf("read %s: %q\n", name, b)
	}
	err := os.Symlink("../../../../../../../../etc", "escape")
	fmt.Printf("symlink: %v\n", err)
	if b, err := os.ReadFile("escape/passwd"); err != nil {
		fmt.Printf("read escape/passwd: error: %v\n", err)
	} else {
		fmt.Printf("read escape/passwd: %d bytes\n", len(b))
	}
	if err := os.WriteFile("written.txt", []byte("from the guest"), 0o644); err != nil {
		fmt.Printf("write: error: %v\n", err)
	}
}

var keep [][]byte

func hog() {
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

func sleep(args []string) {
	d := time.Hour
	if len(args) > 0 {
		d, _ = time.ParseDuration(args[0])
	}
	fmt.Println("sleeping")
	time.Sleep(d)
	fmt.Println("woke")
}

// wait lets a test decide when the guest ends without a timed
// assertion: the test writes the file.
func wait(args []string) {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: guest wait name")
		os.Exit(64)
	}
	fmt.Println("waiting")
	for {
		if _, err := os.Stat(args[0]); err == nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	fmt.Println("done")
}

func hash(args []string) {
	n := 64
	if len(args) > 0 {
		n, _ = strconv.Atoi(args[0])
	}
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	var sum [32]byte
	for range n {
		sum = sha256.Sum256(buf)
		copy(buf, sum[:])
	}
	fmt.Printf("%x\n", sum)
}
