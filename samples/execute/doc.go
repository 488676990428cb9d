// Command execute is the smallest complete Mezzo framework: it runs a
// shell command as N tasks, one per offer slot that fits, waits for all of
// them to end, prints each task's final state and exits non-zero if any
// failed. Copy it to start a framework of your own; the event loop below
// is all a framework needs.
//
//	go run ./samples/execute --master 127.0.0.1:5050 --instances 3 -- 'echo hello from $MESOS_TASK_ID'
package main
