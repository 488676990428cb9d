package webui

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"unicode/utf8"
)

// maxPerPage bounds the rows a table shows at once, whatever the URL asks.
const maxPerPage = 500

// maxFilterLen bounds a filter's length, so that a URL cannot make every
// row comparison expensive.
const maxFilterLen = 256

// listQuery is a table's view of the URL: which column it is sorted by, in
// which direction, which page of how many rows, and the filters. Sorting
// and paging happen on the server so that a browser never receives more
// than one page, however many rows there are.
type listQuery struct {
	path    string     // the page's path, for links
	values  url.Values // the parsed query, for links that change one thing
	Sort    string
	Desc    bool
	Page    int // from 1
	PerPage int
	Filters map[string]string // by name, only the ones given and allowed
}

// tableSpec says what a table accepts: its sort columns (the first is the
// default), whether the default is descending, and its filter names.
type tableSpec struct {
	sorts   []string
	desc    bool
	filters []string
}

// parseListQuery reads sort=, order=asc|desc, page=, per= and the spec's
// filters from q. Parameters it does not know are ignored; a known one
// given twice, or with a value it cannot use, is an error that names it,
// so that a mistyped link answers 400 rather than a silently different
// table.
func parseListQuery(q url.Values, spec tableSpec, perPage int) (listQuery, error) {
	lq := listQuery{values: url.Values{}, Sort: spec.sorts[0], Desc: spec.desc, Page: 1, PerPage: perPage, Filters: map[string]string{}}
	one := func(name string) (string, bool, error) {
		vs, ok := q[name]
		if !ok {
			return "", false, nil
		}
		if len(vs) != 1 {
			return "", false, fmt.Errorf("parameter %s is given %d times", name, len(vs))
		}
		if !utf8.ValidString(vs[0]) || len(vs[0]) > maxFilterLen {
			return "", false, fmt.Errorf("parameter %s is not valid text of at most %d bytes", name, maxFilterLen)
		}
		return vs[0], true, nil
	}
	if v, ok, err := one("sort"); err != nil {
		return lq, err
	} else if ok {
		if !slices.Contains(spec.sorts, v) {
			return lq, fmt.Errorf("cannot sort by %q: sort by one of %v", v, spec.sorts)
		}
		// The spec's default direction goes with its default column;
		// another column reads ascending unless order= says otherwise.
		lq.Desc = spec.desc && v == spec.sorts[0]
		lq.Sort = v
		lq.values.Set("sort", v)
	}
	if v, ok, err := one("order"); err != nil {
		return lq, err
	} else if ok {
		switch v {
		case "asc":
			lq.Desc = false
		case "desc":
			lq.Desc = true
		default:
			return lq, fmt.Errorf("order must be asc or desc, not %q", v)
		}
		lq.values.Set("order", v)
	}
	for _, p := range []struct {
		name     string
		dst      *int
		min, max int
	}{{"page", &lq.Page, 1, 1 << 30}, {"per", &lq.PerPage, 1, maxPerPage}} {
		v, ok, err := one(p.name)
		if err != nil {
			return lq, err
		}
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < p.min || n > p.max {
			return lq, fmt.Errorf("%s must be a whole number from %d to %d, not %q", p.name, p.min, p.max, v)
		}
		*p.dst = n
		lq.values.Set(p.name, v)
	}
	for _, f := range spec.filters {
		v, ok, err := one(f)
		if err != nil {
			return lq, err
		}
		if ok && v != "" {
			lq.Filters[f] = v
			lq.values.Set(f, v)
		}
	}
	return lq, nil
}

// with returns the URL of this table with one parameter changed (an empty
// value removes it).
func (lq listQuery) with(name, value string) string {
	v := url.Values{}
	for k, vs := range lq.values {
		v[k] = vs
	}
	if value == "" {
		v.Del(name)
	} else {
		v.Set(name, value)
	}
	if len(v) == 0 {
		return lq.path
	}
	return lq.path + "?" + v.Encode()
}

// SortURL is the link of a column header: sort by key, flipping the
// direction when the table is already sorted by it; back to page 1.
func (lq listQuery) SortURL(key string) string {
	order := "asc"
	if key == lq.Sort && !lq.Desc {
		order = "desc"
	}
	lq.values = cloneValues(lq.values)
	lq.values.Del("page")
	lq.values.Set("sort", key)
	return lq.with("order", order)
}

// AriaSort is a column header's aria-sort attribute value.
func (lq listQuery) AriaSort(key string) string {
	switch {
	case key != lq.Sort:
		return "none"
	case lq.Desc:
		return "descending"
	}
	return "ascending"
}

// PageURL is the link to page n of the table.
func (lq listQuery) PageURL(n int) string {
	if n <= 1 {
		return lq.with("page", "")
	}
	return lq.with("page", strconv.Itoa(n))
}

// Filter returns a filter's value, or "".
func (lq listQuery) Filter(name string) string { return lq.Filters[name] }

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// pager is one page of a sorted table and the links around it.
type pager struct {
	Q           listQuery
	Total       int // rows after filtering
	First       int // 1-based index of the first row shown; 0 when none
	Last        int
	Page, Pages int
}

// PrevURL and NextURL are the neighbouring pages' links, "" at the ends.
func (p pager) PrevURL() string {
	if p.Page <= 1 {
		return ""
	}
	return p.Q.PageURL(p.Page - 1)
}

// NextURL is the next page's link, "" on the last page.
func (p pager) NextURL() string {
	if p.Page >= p.Pages {
		return ""
	}
	return p.Q.PageURL(p.Page + 1)
}

// paginate sorts rows by cmp (ascending; reversed for a descending
// query) and cuts the query's page. It sorts a permutation of indices, not
// the rows themselves, which are large structs (an api.Task is hundreds of
// bytes), and leaves rows unchanged. cmp must be a total order (break ties
// by ID) so that a page's rows do not move between refreshes. A page past
// the end shows the last page: rows come and go while a page is open, and
// a live refresh of page 5 of a table that shrank to 4 should show page 4.
func paginate[T any](rows []T, q listQuery, cmp func(a, b *T) int) ([]T, pager) {
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		if q.Desc {
			return cmp(&rows[b], &rows[a])
		}
		return cmp(&rows[a], &rows[b])
	})
	pages := max(1, (len(rows)+q.PerPage-1)/q.PerPage)
	q.Page = min(q.Page, pages)
	start := (q.Page - 1) * q.PerPage
	end := min(start+q.PerPage, len(rows))
	p := pager{Q: q, Total: len(rows), Page: q.Page, Pages: pages}
	page := make([]T, 0, max(0, end-start))
	if end > start {
		p.First, p.Last = start+1, end
		for _, i := range idx[start:end] {
			page = append(page, rows[i])
		}
	}
	return page, p
}
