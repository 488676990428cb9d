// Command services is Mezzo's Marathon-like sample: a framework that keeps
// long-running services up. Each app says how many instances to run, what
// each runs (a command or a Wasm module), with what resources and health
// check, and where it may go (Marathon's constraints: UNIQUE, CLUSTER,
// LIKE, UNLIKE, MAX_PER on the hostname or an agent attribute). Instances
// that end are replaced, after a backoff that doubles with every failure;
// apps scale up and down; a change or a restart rolls over to new
// instances while keeping a minimum healthy capacity. It survives its own
// restart: its state file holds the framework ID and every instance.
//
//	go run ./samples/services --master 127.0.0.1:5050 --apps apps.json --listen 127.0.0.1:8080
//	curl -X PUT --data '{"id":"clock","instances":3,"command":"while date; do sleep 5; done"}' 127.0.0.1:8080/apps/clock
//	curl -X POST 127.0.0.1:8080/apps/clock/restart
//	curl 127.0.0.1:8080/apps/clock
//
// The apps file is a JSON array of apps (see App), put at start.
package main
