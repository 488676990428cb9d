// Command wcmap is the map task of the wordcount sample: it counts the
// words of the file "input" in its sandbox, which the framework has it
// fetch, and prints the counts as "word<TAB>count" lines for the
// framework to shuffle to the reducers.
//
//	GOOS=wasip1 GOARCH=wasm go build -o wcmap.wasm ./samples/modules/wcmap
package main
