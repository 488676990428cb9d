package webui

import (
	"net/url"
	"slices"
	"testing"
)

func TestParseListQuery(t *testing.T) {
	tests := []struct {
		name, raw string
		ok        bool
		sort      string
		desc      bool
		page, per int
	}{
		{"defaults", "", true, "updated", true, 1, 50},
		{"other column reads ascending", "sort=name", true, "name", false, 1, 50},
		{"explicit order", "sort=name&order=desc&page=3&per=10", true, "name", true, 3, 10},
		{"unknown parameters ignored", "utm=x", true, "updated", true, 1, 50},
		{"unknown column", "sort=bogus", false, "", false, 0, 0},
		{"zero page", "page=0", false, "", false, 0, 0},
		{"huge per", "per=501", false, "", false, 0, 0},
		{"repeated", "page=1&page=2", false, "", false, 0, 0},
		{"bad order", "order=sideways", false, "", false, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := parseListQuery(queryOf(t, tt.raw), taskTable, 50)
			if (err == nil) != tt.ok {
				t.Fatalf("err %v, want ok %v", err, tt.ok)
			}
			if tt.ok && (q.Sort != tt.sort || q.Desc != tt.desc || q.Page != tt.page || q.PerPage != tt.per) {
				t.Fatalf("got %+v", q)
			}
		})
	}
}

// FuzzParseListQuery checks that no query crashes the parser, that what
// it accepts is within bounds, and that the links it builds parse again.
func FuzzParseListQuery(f *testing.F) {
	for _, s := range []string{"", "sort=name&order=desc&page=2&per=10", "state=TASK_RUNNING&name=x", "page=-1", "per=%ff", "sort=name&sort=id"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseListQuery(v, taskTable, 50)
		if err != nil {
			return
		}
		if q.Page < 1 || q.PerPage < 1 || q.PerPage > maxPerPage || !slices.Contains(taskTable.sorts, q.Sort) {
			t.Fatalf("accepted out of bounds: %+v", q)
		}
		q.path = "/tasks"
		for _, link := range []string{q.SortURL("name"), q.PageURL(q.Page + 1), q.PageURL(1)} {
			u, err := url.Parse(link)
			if err != nil {
				t.Fatalf("link %q: %v", link, err)
			}
			if _, err := parseListQuery(u.Query(), taskTable, 50); err != nil {
				t.Fatalf("link %q does not parse again: %v", link, err)
			}
		}
	})
}

func TestRelPath(t *testing.T) {
	for _, ok := range []string{"", ".", "stdout", "dir/file", "a.b/c"} {
		if _, err := relPath(ok); err != nil {
			t.Errorf("relPath(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"..", "../x", "a/../../b", "/abs", "a//b", "a/", "x\x00y"} {
		if _, err := relPath(bad); err == nil {
			t.Errorf("relPath(%q) accepted", bad)
		}
	}
}
