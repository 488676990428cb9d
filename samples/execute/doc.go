// Command execute is the smallest complete Mezzo framework: it runs a
// shell command as N tasks, one per offer slot that fits, waits for all of
// them to end, prints each task's final state and exits non-zero if any
// failed. Copy it to start a framework of your own; the event loop below
// is all a framework needs.
//
//	go run ./samples/execute --master 127.0.0.1:5050 --instances 3 -- 'echo hello from $MESOS_TASK_ID'
//
// With --state FILE the run survives its own restart: it keeps its
// framework ID and what became of each task in FILE, and a run started
// again with the same FILE (within the framework's one-minute failover
// timeout) re-subscribes as the same framework, reconciles the tasks it
// had launched, and launches only what had not been launched. The file is
// removed when the run ends.
package main
