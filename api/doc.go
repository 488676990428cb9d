// Package api holds Mezzo's wire types: the Mesos v1 scheduler, executor
// and operator messages in Mesos's JSON encoding, Mezzo's agent protocol
// and its WebAssembly extension of ContainerInfo, resource arithmetic, and
// RecordIO framing. It does no I/O and holds no mutable state, so every
// other package can import it.
//
// The JSON encoding is Mesos's own, not protobuf's proto3 mapping: field
// names are the .proto snake_case names, enums are their names, IDs are
// objects ({"value": "..."}), bytes are base64, unknown keys are ignored
// and null means unset. Fields with a proto default are printed even when
// unset (Filters.refuse_seconds is 5.0, CommandInfo.shell true), and
// numbers parse from any JSON form (Float64, Int64, Uint64):
//
//	call, err := api.DecodeCall(body)     // parse and validate
//	b, err := json.Marshal(api.Event{Type: api.EventHeartbeat})
//
// Resources add, subtract and compare with Mesos's semantics (scalars in
// fixed point with three decimals):
//
//	total, _ := api.ParseResources("cpus:4;mem:8192;ports:[31000-32000]")
//	free := total.Minus(used)
//
// RecordIO frames event streams: api.AppendRecord writes a record and
// api.NewRecordReader reads them.
//
// Everything here is safe for concurrent use once built; values are plain
// data and may be copied.
package api
