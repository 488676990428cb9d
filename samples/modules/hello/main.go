package main

import (
	"fmt"
	"os"
)

func main() {
	greeting := os.Getenv("GREETING")
	if greeting == "" {
		greeting = "hello"
	}
	if len(os.Args) < 2 {
		fmt.Println(greeting)
		return
	}
	for _, name := range os.Args[1:] {
		fmt.Printf("%s %s\n", greeting, name)
	}
}
