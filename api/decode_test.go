package api

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecodeErrors(t *testing.T) {
	decoders := map[string]func([]byte) error{
		"scheduler::Call": func(b []byte) error { _, err := DecodeCall(b); return err },
		"agent::Call":     func(b []byte) error { _, err := DecodeAgentCall(b); return err },
		"executor::Call":  func(b []byte) error { _, err := DecodeExecutorCall(b); return err },
		"master::Call":    func(b []byte) error { _, err := DecodeOperatorCall(b); return err },
	}
	tests := []struct {
		name   string
		body   string
		prefix string // %s is the call's name
	}{
		{"empty body", ``, "Failed to parse body into JSON: "},
		{"truncated", `{"type":`, "Failed to parse body into JSON: "},
		{"trailing garbage", `{} x`, "Failed to parse body into JSON: "},
		{"not an object", `[1,2]`, "Failed to convert JSON into Call protobuf: "},
		{"type of the wrong kind", `{"type":1}`, "Failed to convert JSON into Call protobuf: 'type' must be a string"},
		{"null is an empty call", `null`, "Failed to validate %s: Expecting 'type' to be present"},
		{"no type", `{"unknown_key":1}`, "Failed to validate %s: Expecting 'type' to be present"},
	}
	for name, decode := range decoders {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				err := decode([]byte(tt.body))
				want := strings.Replace(tt.prefix, "%s", name, 1)
				if err == nil || !strings.HasPrefix(err.Error(), want) {
					t.Fatalf("error = %v, want one starting with %q", err, want)
				}
			})
		}
	}
}

func TestDecodeErrorsUnwrap(t *testing.T) {
	_, err := DecodeCall([]byte(`{"type":`))
	var syntax *json.SyntaxError
	if !errors.As(err, &syntax) {
		t.Errorf("%v does not unwrap to a *json.SyntaxError", err)
	}
	_, err = DecodeCall([]byte(`{"type":"SUBSCRIBE","subscribe":{"framework_info":{"checkpoint":"yes"}}}`))
	var typ *json.UnmarshalTypeError
	if !errors.As(err, &typ) {
		t.Errorf("%v does not unwrap to a *json.UnmarshalTypeError", err)
	}
	if err == nil || !strings.Contains(err.Error(), "'subscribe.framework_info.checkpoint' must be a boolean") {
		t.Errorf("error %v does not name the field and the expected kind", err)
	}
}

func TestDecodeCallLeniency(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		check func(*Call) bool
	}{
		{
			name:  "unknown keys are ignored",
			body:  `{"type":"TEARDOWN","framework_id":{"value":"f","extra":1},"future_field":{"a":[1]}}`,
			check: func(c *Call) bool { return c.Type == CallTeardown && c.FrameworkID.Value == "f" },
		},
		{
			name:  "null leaves fields unset",
			body:  `{"type":"REVIVE","framework_id":{"value":"f"},"revive":null,"accept":null}`,
			check: func(c *Call) bool { return c.Revive == nil && c.Accept == nil },
		},
		{
			name: "numbers in any form",
			body: `{"type":"DECLINE","framework_id":{"value":"f"},"decline":{"filters":{"refuse_seconds":"3.6e+06"}}}`,
			check: func(c *Call) bool {
				return c.Decline.Filters.Refuse() == 3.6e6
			},
		},
		{
			name: "bytes in base64",
			body: `{"type":"MESSAGE","framework_id":{"value":"f"},"message":{"agent_id":{"value":"a"},"executor_id":{"value":"e"},"data":"aGVsbG8="}}`,
			check: func(c *Call) bool {
				return string(c.Message.Data) == "hello"
			},
		},
		{
			name:  "role key of the documentation is ignored",
			body:  `{"type":"REVIVE","framework_id":{"value":"f"},"revive":{"role":"web"}}`,
			check: func(c *Call) bool { return c.Revive != nil && len(c.Revive.Roles) == 0 },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := DecodeCall([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("decoded wrongly: %+v", c)
			}
		})
	}
}

func TestDecodeRejectsBadBase64(t *testing.T) {
	body := `{"type":"ACKNOWLEDGE","framework_id":{"value":"f"},"acknowledge":{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":"not base64!"}}`
	_, err := DecodeCall([]byte(body))
	if err == nil || !strings.HasPrefix(err.Error(), "Failed to convert JSON into Call protobuf: ") {
		t.Fatalf("error = %v", err)
	}
}

func TestDecodeOtherCalls(t *testing.T) {
	tests := []struct {
		name   string
		decode func([]byte) (any, error)
		body   string
	}{
		{
			name:   "agent update",
			decode: func(b []byte) (any, error) { return DecodeAgentCall(b) },
			body: `{"type":"UPDATE","agent_id":{"value":"a"},"updates":[{"framework_id":{"value":"f"},
				"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING","uuid":"o4ZoWNlzQB6nYgf7lmzU9w=="}}]}`,
		},
		{
			name:   "executor subscribe",
			decode: func(b []byte) (any, error) { return DecodeExecutorCall(b) },
			body: `{"executor_id":{"value":"e"},"framework_id":{"value":"f"},"type":"SUBSCRIBE",
				"subscribe":{"unacknowledged_updates":[{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING","source":"SOURCE_EXECUTOR","uuid":"o4ZoWNlzQB6nYgf7lmzU9w=="}}]}}`,
		},
		{
			name:   "operator read file",
			decode: func(b []byte) (any, error) { return DecodeOperatorCall(b) },
			body:   `{"type":"READ_FILE","read_file":{"path":"/master/log","offset":"0","length":4096}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.decode([]byte(tt.body)); err != nil {
				t.Fatal(err)
			}
		})
	}
}
