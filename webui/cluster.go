package webui

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/mezzo-cluster/mezzo/api"
)

// Cluster is what the console needs from the master. It is an interface
// so that the console does not import the master (the master satisfies it
// in-process; tests use a fake), and it is small: the operator API, its
// event stream, the module store, the files proxy and agents' usage, each with the same
// meaning as on the master's HTTP API.
//
// Errors that would have been answered with an HTTP error status implement
// StatusCode() int; the console answers them with that status and message,
// and any other error with 502.
type Cluster interface {
	// Call answers one operator call, as POST /api/v1 would.
	Call(ctx context.Context, call *api.OperatorCall) (*api.OperatorResponse, error)
	// Subscribe opens the operator event stream: SUBSCRIBED with a
	// snapshot first, then every change. The channel is closed when ctx
	// ends or the stream breaks; the console then subscribes again.
	Subscribe(ctx context.Context) (<-chan api.OperatorEvent, error)
	// Modules lists the module store, as GET /api/v1/modules.
	Modules(ctx context.Context) ([]api.ModuleInfo, error)
	// PutModule validates and stores a module, as POST /api/v1/modules.
	PutModule(ctx context.Context, wasm []byte) (api.ModuleInfo, error)
	// DeleteModule deletes a module from the store, as DELETE
	// /api/v1/modules/{sha256}: new launches of it are refused, tasks
	// running it keep running.
	DeleteModule(ctx context.Context, sha256 string) error
	// Files calls an agent's files API operation op (browse, read or
	// download) through the master, as GET /agents/{id}/files/{op}. The
	// caller closes the response body.
	Files(ctx context.Context, agentID, op string, query url.Values) (*http.Response, error)
	// Containers lists an agent's containers with their usage, asked of
	// the agent through the master (GET_CONTAINERS with nested
	// containers: a task is a container nested in its executor's).
	Containers(ctx context.Context, agentID string) ([]api.AgentContainer, error)
}

// Standby is implemented by a Cluster that may be a master that does not
// lead, as the master's is. Such a master answers views from its replica
// of the registry and streams the events of what the replica applies
// (Subscribe): both lag the leader by the replication delay and hold no
// offers, which are not replicated. It refuses changes. So the console
// says so on every page and links to the leader: a person who reached a
// standby would otherwise take its lagging view for the leader's, and
// wonder why every change is refused.
type Standby interface {
	// Standby reports whether the master does not lead, and the leader's
	// address when one is known ("" otherwise).
	Standby() (standby bool, leader string)
}

// statusOf returns the HTTP status an error from the Cluster should be
// answered with: its own if it carries one, else 502, since the console is
// a gateway to the master.
func statusOf(err error) int {
	var sc interface{ StatusCode() int }
	if errors.As(err, &sc) && sc.StatusCode() >= 400 {
		return sc.StatusCode()
	}
	return http.StatusBadGateway
}
