// Command jobs is Mezzo's Chronos-like sample: a framework that runs jobs
// on schedules — ISO 8601 repeating intervals (R[n]/start/period) or cron
// expressions — and after other jobs (a job with parents runs once all of
// them have succeeded), retries failed runs, keeps each job's run history
// and starts a run by hand on request. It survives its own restart: its
// state file holds the framework ID and every run, and on re-subscribing
// it reconciles the tasks it may have launched.
//
//	go run ./samples/jobs --master 127.0.0.1:5050 --jobs jobs.json --listen 127.0.0.1:8081
//	curl -X PUT --data '{"name":"nightly","schedule":"0 3 * * *","command":"./backup.sh"}' 127.0.0.1:8081/jobs/nightly
//	curl -X POST 127.0.0.1:8081/jobs/nightly/run
//	curl 127.0.0.1:8081/jobs/nightly/runs
//
// The jobs file is a JSON array of jobs (see Job); they are added, or
// replace jobs of the same name, at start.
package main
