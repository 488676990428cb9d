package executor

import (
	"encoding/json"

	"github.com/mezzo-cluster/mezzo/api"
)

// encodeCall is json.Marshal(call), with UPDATE calls written by
// api.ExecutorCall.AppendJSON: the same bytes, at a third of the cost.
func encodeCall(call *api.ExecutorCall) ([]byte, error) {
	if b, ok := call.AppendJSON(make([]byte, 0, 1024)); ok {
		return b, nil
	}
	return json.Marshal(call)
}
