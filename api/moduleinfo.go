package api

import "time"

// ModuleInfo describes a module in the master's store as the module API
// answers it (POST and GET /api/v1/modules). It lives here, beside the
// other wire shapes, so that the console and the CLI can name it without
// importing the master.
type ModuleInfo struct {
	SHA256  string    `json:"sha256"`
	Size    int64     `json:"size"`
	Created time.Time `json:"created"`
}
