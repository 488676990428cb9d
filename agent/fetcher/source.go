package fetcher

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"strings"
)

// modulePrefix starts a URI naming a module stored on the master by hash.
const modulePrefix = "module:"

// maxNameLen is Linux's NAME_MAX, the longest file name element.
const maxNameLen = 255

// sourceKind tells how a source's bytes are read.
type sourceKind int

const (
	kindHTTP   sourceKind = iota // GET url
	kindLocal                    // copy path
	kindModule                   // GET url, check sha
)

// source is a parsed CommandURI value.
type source struct {
	kind sourceKind
	url  string // what to GET (kindHTTP, kindModule)
	path string // the file to copy (kindLocal)
	sha  string // the expected lowercase hex sha256 (kindModule)
	base string // the default output name, not yet checked
}

// parseSource reads a URI value. moduleURL may be nil.
func parseSource(value string, moduleURL func(string) string) (source, error) {
	switch {
	case value == "":
		return source{}, errors.New("empty URI")
	case strings.HasPrefix(value, modulePrefix):
		return parseModule(strings.TrimPrefix(value, modulePrefix), moduleURL)
	case strings.HasPrefix(value, "/"):
		p := filepath.Clean(value)
		return source{kind: kindLocal, path: p, base: filepath.Base(p)}, nil
	}
	u, err := url.Parse(value)
	if err != nil {
		return source{}, errors.New("malformed URI")
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return source{}, errors.New("URL has no host")
		}
		return source{kind: kindHTTP, url: value, base: lastElement(u)}, nil
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return source{}, fmt.Errorf("file URL names host %q, not this agent", u.Host)
		}
		if !path.IsAbs(u.Path) {
			return source{}, errors.New("file URL has no absolute path")
		}
		p := filepath.Clean(u.Path)
		return source{kind: kindLocal, path: p, base: filepath.Base(p)}, nil
	case "":
		return source{}, errors.New("relative paths are not supported; use an absolute path or a URL")
	}
	return source{}, fmt.Errorf("unsupported scheme %q", u.Scheme)
}

// parseModule reads the hash of a "module:" URI.
func parseModule(sha string, moduleURL func(string) string) (source, error) {
	sha = strings.ToLower(sha)
	if len(sha) != 64 || strings.Trim(sha, "0123456789abcdef") != "" {
		return source{}, errors.New("module URI is not module:<64 hex digits of sha256>")
	}
	if moduleURL == nil {
		return source{}, errors.New("module URIs need Config.ModuleURL")
	}
	return source{kind: kindModule, url: moduleURL(sha), sha: sha, base: sha + ".wasm"}, nil
}

// lastElement returns the percent-decoded last element of u's path, or ""
// when it cannot be decoded. Decoding after splitting keeps an encoded
// slash (%2F) inside the element, where checkName refuses it.
func lastElement(u *url.URL) string {
	p := u.EscapedPath()
	name, err := url.PathUnescape(p[strings.LastIndexByte(p, '/')+1:])
	if err != nil {
		return ""
	}
	return name
}

// outputName returns the slash-separated path, relative to the sandbox,
// where the fetched file goes: outputFile if set, else the URI's name.
func outputName(src source, outputFile string) (string, error) {
	if outputFile == "" {
		if err := checkName(src.base); err != nil {
			return "", fmt.Errorf("cannot name the output after the URI: %w", err)
		}
		return src.base, nil
	}
	if strings.HasPrefix(outputFile, "/") {
		return "", fmt.Errorf("output_file %q: %w: absolute path", outputFile, errUnsafe)
	}
	var elems []string
	for _, e := range strings.Split(outputFile, "/") {
		if e == "" || e == "." {
			continue
		}
		if err := checkName(e); err != nil {
			return "", fmt.Errorf("output_file %q: %w", outputFile, err)
		}
		elems = append(elems, e)
	}
	if len(elems) == 0 {
		return "", fmt.Errorf("output_file %q: %w: names the sandbox itself", outputFile, errUnsafe)
	}
	return strings.Join(elems, "/"), nil
}

// checkName refuses a file name element that is empty, ".", "..", too long,
// or holds a slash, backslash, NUL or other control character.
func checkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty name", errUnsafe)
	case name == "." || name == "..":
		return fmt.Errorf("%w: name %q", errUnsafe, name)
	case len(name) > maxNameLen:
		return fmt.Errorf("%w: name longer than %d bytes", errUnsafe, maxNameLen)
	case strings.ContainsAny(name, `/\`):
		return fmt.Errorf("%w: name %q holds a slash or backslash", errUnsafe, name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: name %q holds a control character", errUnsafe, name)
		}
	}
	return nil
}

// redact returns value as it may appear in messages: without user
// information (credentials), query or fragment (which may hold tokens).
func redact(value string) string {
	if u, err := url.Parse(value); err == nil {
		u.User = nil
		if u.RawQuery != "" || u.ForceQuery {
			u.RawQuery, u.ForceQuery = "REDACTED", false
		}
		u.Fragment, u.RawFragment = "", ""
		out := u.String()
		if r, err := url.Parse(out); err != nil || r.User != nil {
			// The rest re-renders as something that reads as user
			// information (a path such as "//x@y" with no host): show less.
			return u.Scheme + "://" + u.Host + "/(redacted)"
		}
		return out
	}
	// Unparseable: cut the user information and query by hand.
	if i := strings.IndexAny(value, "?#"); i >= 0 {
		value = value[:i]
	}
	if i := strings.Index(value, "://"); i >= 0 {
		rest := value[i+3:]
		host := rest
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			host = rest[:j]
		}
		if at := strings.LastIndexByte(host, '@'); at >= 0 {
			value = value[:i+3] + rest[at+1:]
		}
	}
	return value
}
