// Command files reads each file named in its arguments and prints what it
// read or the error, then tries to plant a symbolic link to a directory
// outside its sandbox and read through it.
package main

import (
	"fmt"
	"os"
)

func main() {
	for _, name := range os.Args[1:] {
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
