package fetcher

import (
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"time"
)

// Defaults for Config fields left zero.
const (
	// DefaultMaxBytes bounds one download: 1 GiB.
	DefaultMaxBytes int64 = 1 << 30
	// DefaultMaxExtract bounds the bytes extracted from one archive: 4 GiB.
	DefaultMaxExtract int64 = 4 << 30
	// DefaultCacheMaxBytes bounds the cache: 2 GiB, Mesos's default
	// --fetcher_cache_size.
	DefaultCacheMaxBytes int64 = 2 << 30
	// DefaultStallTimeout is how long a download may go without a byte
	// before it is aborted: 60 s, Mesos's default --fetcher_stall_timeout.
	DefaultStallTimeout = 60 * time.Second
)

// Config configures a Fetcher. The zero value is usable: no cache, the
// default limits, a default HTTP client and no module URIs.
type Config struct {
	// CacheDir is where cached downloads live, one file per URI named by
	// the hex sha256 of the URI. New creates it. "" disables the cache:
	// URIs with cache set are then downloaded every time, as Mesos does
	// when its cache is off.
	CacheDir string

	// CacheMaxBytes bounds the bytes the cache holds: past it, the entries
	// used longest ago are removed after each download, as Mesos's
	// fetcher cache does, so that an agent that runs for months does not
	// fill its disk with every URI it was ever asked for. The entry just
	// downloaded always stays. Zero means DefaultCacheMaxBytes.
	CacheMaxBytes int64

	// MaxBytes bounds each download or local copy; a larger one fails.
	// Zero means DefaultMaxBytes.
	MaxBytes int64

	// MaxExtract bounds the bytes written while extracting one archive or
	// decompressing one .gz file, so that a zip or tar bomb fails instead
	// of filling the disk. Zero means DefaultMaxExtract.
	MaxExtract int64

	// StallTimeout aborts a download (http(s) or module URI) once no
	// byte has arrived for that long, the response's headers counting as
	// bytes, as Mesos's --fetcher_stall_timeout does: a server that
	// accepts the connection and then says nothing would otherwise hold
	// the fetch until HTTPClient's own timeout, if it has one. Zero
	// means DefaultStallTimeout.
	StallTimeout time.Duration

	// HTTPClient makes the http(s) requests. Nil means a client with
	// connection, TLS handshake and response header timeouts but no
	// overall timeout: the context passed to Fetch bounds a download.
	HTTPClient *http.Client

	// ModuleClient fetches "module:<sha256>" URIs from the master: it may
	// carry the agent's credential, which HTTPClient, reaching anyone's
	// URLs, must not. Nil means HTTPClient.
	ModuleClient *http.Client

	// ModuleURL turns the sha256 of a "module:<sha256>" URI into the http
	// URL of that module on the master. Nil makes module URIs fail.
	ModuleURL func(sha256 string) string

	// LocalDirs, if not empty, confines file:// and absolute-path URIs to
	// files under these directories (after symbolic links are followed).
	// Empty allows any regular file the agent can read, which lets any
	// framework copy any such file into its sandbox; agents that run
	// untrusted frameworks should set it.
	LocalDirs []string
}

// DefaultConfig returns a Config with the default limits and no cache.
func DefaultConfig() Config {
	return Config{MaxBytes: DefaultMaxBytes, MaxExtract: DefaultMaxExtract, StallTimeout: DefaultStallTimeout}
}

// Validate reports the first field of c that New would refuse.
func (c Config) Validate() error {
	switch {
	case c.MaxBytes < 0:
		return errors.New("fetcher config: MaxBytes is negative")
	case c.MaxExtract < 0:
		return errors.New("fetcher config: MaxExtract is negative")
	case c.CacheMaxBytes < 0:
		return errors.New("fetcher config: CacheMaxBytes is negative")
	case c.StallTimeout < 0:
		return errors.New("fetcher config: StallTimeout is negative")
	}
	for _, d := range c.LocalDirs {
		if !filepath.IsAbs(d) {
			return errors.New("fetcher config: LocalDirs holds a relative path " + d)
		}
	}
	return nil
}

// withDefaults fills the zero fields of c.
func (c Config) withDefaults() Config {
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.MaxExtract == 0 {
		c.MaxExtract = DefaultMaxExtract
	}
	if c.CacheMaxBytes == 0 {
		c.CacheMaxBytes = DefaultCacheMaxBytes
	}
	if c.StallTimeout == 0 {
		c.StallTimeout = DefaultStallTimeout
	}
	if c.HTTPClient == nil {
		c.HTTPClient = defaultClient()
	}
	if c.ModuleClient == nil {
		c.ModuleClient = c.HTTPClient
	}
	return c
}

// defaultClient has timeouts on every step before the body; the body may
// take as long as the caller's context allows.
func defaultClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          16,
		ForceAttemptHTTP2:     true,
	}}
}
