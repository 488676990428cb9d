// Command heartbeat is a service-like task module with no network: it
// prints a numbered heartbeat line every interval (1s by default) until
// it is killed, so that a long-running task's live output can be tailed
// (mezzo run, the console) and a service framework such as
// samples/services has something to keep running.
//
//	mezzo run ./samples/modules/heartbeat -- 500ms
package main
