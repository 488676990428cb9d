package operator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

// Client talks to one master.
type Client struct {
	base string
	http *http.Client
}

// New returns a client of the master at HOST:PORT or a base URL.
func New(master string) *Client {
	return &Client{base: scheduler.BaseURL(master), http: &http.Client{Timeout: 5 * time.Minute}}
}

// Module describes a stored module, as POST /api/v1/modules answers.
type Module struct {
	SHA256  string    `json:"sha256"`
	Size    int64     `json:"size"`
	Created time.Time `json:"created,omitempty"`
}

// PushModule uploads a module. An invalid module is refused with an
// *scheduler.HTTPError whose message says what is wrong.
func (c *Client) PushModule(ctx context.Context, wasm []byte) (Module, error) {
	var m Module
	err := c.do(ctx, http.MethodPost, "/api/v1/modules", "application/wasm", bytes.NewReader(wasm), &m)
	if err != nil {
		return Module{}, fmt.Errorf("push module: %w", err)
	}
	return m, nil
}

// Modules lists the stored modules, newest first.
func (c *Client) Modules(ctx context.Context) ([]Module, error) {
	var out struct {
		Modules []Module `json:"modules"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v1/modules", "", nil, &out); err != nil {
		return nil, fmt.Errorf("list modules: %w", err)
	}
	return out.Modules, nil
}

// Call makes an operator call and decodes the answer.
func (c *Client) Call(ctx context.Context, call *api.OperatorCall) (*api.OperatorResponse, error) {
	body, err := json.Marshal(call)
	if err != nil {
		return nil, err
	}
	var resp api.OperatorResponse
	if err := c.do(ctx, http.MethodPost, "/api/v1", "application/json", bytes.NewReader(body), &resp); err != nil {
		return nil, fmt.Errorf("%s: %w", call.Type, err)
	}
	return &resp, nil
}

// Tasks returns GET_TASKS.
func (c *Client) Tasks(ctx context.Context) (*api.GetTasksResponse, error) {
	resp, err := c.Call(ctx, &api.OperatorCall{Type: api.OperatorGetTasks})
	if err != nil {
		return nil, err
	}
	if resp.GetTasks == nil {
		return &api.GetTasksResponse{}, nil
	}
	return resp.GetTasks, nil
}

// FileChunk is a window of a sandbox file, as /files/read answers.
type FileChunk struct {
	Offset int64  `json:"offset"`
	Data   string `json:"data"`
}

// ReadFile reads up to length bytes of a sandbox file at offset, through
// the master's proxy of the agent's files API. An offset of -1 returns the
// file's size in Offset and no data.
func (c *Client) ReadFile(ctx context.Context, agentID, path string, offset, length int64) (FileChunk, error) {
	q := url.Values{}
	q.Set("path", path)
	q.Set("offset", strconv.FormatInt(offset, 10))
	q.Set("length", strconv.FormatInt(length, 10))
	var chunk FileChunk
	err := c.do(ctx, http.MethodGet, "/agents/"+url.PathEscape(agentID)+"/files/read?"+q.Encode(), "", nil, &chunk)
	if err != nil {
		return FileChunk{}, fmt.Errorf("read %s: %w", path, err)
	}
	return chunk, nil
}

func (c *Client) do(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return &scheduler.HTTPError{Code: resp.StatusCode, Message: strings.TrimSpace(string(msg))}
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
