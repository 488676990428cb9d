package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// The decoders turn a request body into a validated call. Their errors are
// meant to be sent back verbatim with 400 Bad Request, and so begin as
// Mesos's do, capitalised: "Failed to parse body into JSON: ..." for a body
// that is not JSON, "Failed to convert JSON into Call protobuf: ..." for
// JSON of the wrong shape, and "Failed to validate scheduler::Call: ..."
// (agent::Call, executor::Call, master::Call) for a call that breaks a rule
// of Validate. The cause is wrapped, so errors.As still finds a
// *json.SyntaxError or *json.UnmarshalTypeError.
//
// Decoding follows Mesos's JSON mapping: unknown keys are ignored, null
// leaves a field unset, bytes are standard base64, numbers may be given in
// any JSON form or as strings. The body size is the HTTP layer's to limit.

// DecodeCall decodes and validates a v1 scheduler call (the body of a POST
// to /api/v1/scheduler). It returns a nil call with any error.
func DecodeCall(data []byte) (*Call, error) {
	return decodeCall[Call](data, "scheduler::Call")
}

// DecodeAgentCall decodes and validates a call from an agent to the master
// (the body of a POST to /api/v1/agent).
func DecodeAgentCall(data []byte) (*AgentCall, error) {
	if call, ok := decodeAgentUpdateCall(data); ok {
		if err := call.Validate(); err != nil {
			return nil, fmt.Errorf("Failed to validate agent::Call: %w", err)
		}
		return call, nil
	}
	return decodeCall[AgentCall](data, "agent::Call")
}

// DecodeExecutorCall decodes and validates a v1 executor call (the body of
// a POST to an agent's /api/v1/executor).
func DecodeExecutorCall(data []byte) (*ExecutorCall, error) {
	if call, ok := decodeUpdateCall(data); ok {
		if err := call.Validate(); err != nil {
			return nil, fmt.Errorf("Failed to validate executor::Call: %w", err)
		}
		return call, nil
	}
	return decodeCall[ExecutorCall](data, "executor::Call")
}

// DecodeOperatorCall decodes and validates a v1 operator call (the body of
// a POST to the master's /api/v1).
func DecodeOperatorCall(data []byte) (*OperatorCall, error) {
	return decodeCall[OperatorCall](data, "master::Call")
}

// validator is a call type's pointer, which has Validate.
type validator[T any] interface {
	*T
	Validate() error
}

func decodeCall[T any, P validator[T]](data []byte, name string) (*T, error) {
	call := new(T)
	if err := json.Unmarshal(data, call); err != nil {
		return nil, conversionError(err)
	}
	if err := P(call).Validate(); err != nil {
		return nil, fmt.Errorf("Failed to validate %s: %w", name, err)
	}
	return call, nil
}

// conversionError words a json.Unmarshal error as Mesos would, naming the
// JSON field and the kind of value expected rather than Go types.
func conversionError(err error) error {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return fmt.Errorf("Failed to parse body into JSON: %w", err)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		field := typ.Field
		if field == "" {
			field = "(top level)"
		}
		msg := fmt.Sprintf("Failed to convert JSON into Call protobuf: '%s' must be %s, not %s",
			field, jsonKind(typ.Type), typ.Value)
		return &wrappedError{msg: msg, err: err}
	}
	return fmt.Errorf("Failed to convert JSON into Call protobuf: %w", err)
}

// jsonKind names the JSON value that decodes into t.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.String:
		return "a string"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "an array"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "a " + t.String()
}

// wrappedError is an error worded for the client that still unwraps to its
// cause, whose own wording (Go type names) is left out.
type wrappedError struct {
	msg string
	err error
}

// Error returns the client's wording.
func (e *wrappedError) Error() string { return e.msg }

// Unwrap returns the json package's error.
func (e *wrappedError) Unwrap() error { return e.err }
