// Command wcreduce is the reduce task of the wordcount sample: it sums
// the "word<TAB>count" lines of the file "input" in its sandbox — the map
// outputs the framework routed to this reducer — and prints the totals in
// the same form.
//
//	GOOS=wasip1 GOARCH=wasm go build -o wcreduce.wasm ./samples/modules/wcreduce
package main
