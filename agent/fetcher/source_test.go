package fetcher

import (
	"errors"
	"strings"
	"testing"
)

func TestOutputName(t *testing.T) {
	sha := strings.Repeat("0f", 32)
	tests := []struct {
		name    string
		uri     string
		output  string
		want    string
		wantErr string
	}{
		{name: "last element", uri: "http://h/a/b.txt", want: "b.txt"},
		{name: "query and fragment", uri: "https://h/a/b.txt?x=1#frag", want: "b.txt"},
		{name: "percent-decoded", uri: "http://h/a%20b%2Bc", want: "a b+c"},
		{name: "unicode", uri: "http://h/%C3%A9t%C3%A9.txt", want: "été.txt"},
		{name: "trailing slash", uri: "http://h/dir/", wantErr: "empty name"},
		{name: "no path", uri: "http://h", wantErr: "empty name"},
		{name: "encoded slash", uri: "http://h/a%2Fb", wantErr: "slash"},
		{name: "encoded dot-dot", uri: "http://h/%2e%2E", wantErr: `name ".."`},
		{name: "dot", uri: "http://h/a/.", wantErr: `name "."`},
		{name: "encoded NUL", uri: "http://h/a%00b", wantErr: "control character"},
		{name: "encoded newline", uri: "http://h/a%0Ab", wantErr: "control character"},
		{name: "backslash", uri: `http://h/a%5C..`, wantErr: "backslash"},
		{name: "too long", uri: "http://h/" + strings.Repeat("x", 256), wantErr: "longer than 255"},
		{name: "bad escape", uri: "http://h/a%zz", wantErr: "malformed URI"},
		{name: "absolute path", uri: "/opt/pkg/x.tgz", want: "x.tgz"},
		{name: "absolute path cleaned", uri: "/opt/pkg/../x", want: "x"},
		{name: "file URL", uri: "file:///opt/x%20y", want: "x y"},
		{name: "module", uri: "module:" + sha, want: sha + ".wasm"},
		{name: "output_file", uri: "http://h/a", output: "b", want: "b"},
		{name: "output_file in a directory", uri: "http://h/a", output: "conf/app.json", want: "conf/app.json"},
		{name: "output_file cleaned", uri: "http://h/a", output: "./conf//./app.json/", want: "conf/app.json"},
		{name: "output_file overrides a bad name", uri: "http://h/", output: "index.html", want: "index.html"},
		{name: "output_file dot-dot", uri: "http://h/a", output: "../x", wantErr: `name ".."`},
		{name: "output_file dot-dot inside", uri: "http://h/a", output: "a/../../x", wantErr: `name ".."`},
		{name: "output_file harmless dot-dot", uri: "http://h/a", output: "a/../x", wantErr: `name ".."`},
		{name: "output_file absolute", uri: "http://h/a", output: "/etc/passwd", wantErr: "absolute"},
		{name: "output_file dot", uri: "http://h/a", output: ".", wantErr: "sandbox itself"},
		{name: "output_file backslash", uri: "http://h/a", output: `..\x`, wantErr: "backslash"},
		{name: "output_file NUL", uri: "http://h/a", output: "a\x00b", wantErr: "control character"},
	}
	moduleURL := func(s string) string { return "http://master/api/v1/modules/" + s }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := parseSource(tt.uri, moduleURL)
			var got string
			if err == nil {
				got, err = outputName(src, tt.output)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %q, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestUnsafeNamesWrapErrUnsafe(t *testing.T) {
	for _, out := range []string{"../x", "/x", ".", "a/\x01"} {
		_, err := outputName(source{base: "ok"}, out)
		if !errors.Is(err, errUnsafe) {
			t.Errorf("outputName(%q) = %v, want errUnsafe", out, err)
		}
	}
}
