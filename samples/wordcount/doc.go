// Command wordcount is Mezzo's data-parallel sample, the job that Hadoop
// and Spark made famous: it splits a text into chunks, counts the words of
// each chunk in a Wasm map task, routes every word's counts to one of the
// reduce tasks, sums them there, and writes the totals. The framework is
// the shuffle: it serves each task its input over HTTP (the agent fetches
// it into the task's sandbox as the task's command URIs ask) and reads
// each task's output back through the master's files API.
//
//	go run ./samples/wordcount --master 127.0.0.1:5050 --input book.txt --maps 8 --reducers 2 --out counts.tsv --check
//
// A failed task is launched again, up to --retries times; --check compares
// the result with a count made locally and exits 1 if they differ.
//
// With --state FILE the job survives its own restart: FILE keeps its
// framework ID, its tasks in flight and where each finished task left its
// output, and a job started again with the same FILE (within a minute, its
// failover timeout) re-subscribes as the same framework, reconciles its
// tasks, reads the finished ones' outputs back through the master and runs
// only the rest. Give it a fixed --listen too, so that tasks in flight can
// still fetch their inputs. The file is removed when the job ends.
package main
