// Command sleeper is a task module that sleeps for the given duration (an
// hour without one) and exits 0: a task that stays TASK_RUNNING, for
// trying kills, drains, failovers and recovery.
//
//	mezzo run ./samples/modules/sleeper -- 30s
package main
