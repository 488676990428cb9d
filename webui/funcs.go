package webui

import (
	"fmt"
	"html/template"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"resources": func(rs []api.Resource) string {
		if len(rs) == 0 {
			return "none"
		}
		return api.Resources(rs).String()
	},
	"scalar":     func(name string, rs []api.Resource) string { return number(api.Resources(rs).ScalarValue(name)) },
	"attributes": attributes,
	"epoch":      epoch,
	"timeinfo":   timeInfo,
	"when":       func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"bytes":      humanBytes,
	"stateClass": stateClass,
	"esc":        url.PathEscape,
	"query":      queryValue,
	"short":      short,
	"number":     number,
	"add":        func(a, b int) int { return a + b },
	"duration":   func(d *api.DurationInfo) string { return time.Duration(d.Nanoseconds).String() },
	"col":        func(q listQuery, key, label string) column { return column{Q: q, Key: key, Label: label} },
	"rows":       func(rows any, p pager) tableData { return tableData{Rows: rows, Pager: p} },
}

// column is a sortable column header.
type column struct {
	Q          listQuery
	Key, Label string
}

// tableData hands a table's rows and pager to a shared template.
type tableData struct {
	Rows  any
	Pager pager
}

// number prints a scalar the way Mesos users read them: 0.5, 2, 1024.
func number(v float64) string { return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64) }

// epoch prints seconds since the Unix epoch (status timestamps).
func epoch(s api.Float64) string {
	if s == 0 {
		return ""
	}
	sec, frac := math.Modf(float64(s))
	return time.Unix(int64(sec), int64(frac*1e9)).UTC().Format("2006-01-02 15:04:05.000 UTC")
}

func timeInfo(t *api.TimeInfo) string {
	if t == nil {
		return ""
	}
	return time.Unix(0, int64(t.Nanoseconds)).UTC().Format("2006-01-02 15:04:05 UTC")
}

// attributes prints agent attributes as Mesos's --attributes syntax.
func attributes(as []api.Attribute) string {
	parts := make([]string, 0, len(as))
	for _, a := range as {
		v := ""
		switch {
		case a.Text != nil:
			v = a.Text.Value
		case a.Scalar != nil:
			v = number(float64(a.Scalar.Value))
		case a.Ranges != nil:
			var rs []string
			for _, r := range a.Ranges.Range {
				rs = append(rs, fmt.Sprintf("%d-%d", r.Begin, r.End))
			}
			v = "[" + strings.Join(rs, ",") + "]"
		case a.Set != nil:
			v = "{" + strings.Join(a.Set.Item, ",") + "}"
		}
		parts = append(parts, a.Name+":"+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// stateClass is the CSS class that colours a task state, given as an
// api.TaskState or a string.
func stateClass(state any) string {
	switch api.TaskState(fmt.Sprint(state)) {
	case api.TaskRunning, api.TaskFinished:
		return "ok"
	case api.TaskStaging, api.TaskStarting, api.TaskKilling:
		return "busy"
	case api.TaskFailed, api.TaskError, api.TaskLost, api.TaskGone, api.TaskGoneByOperator, api.TaskDropped, api.TaskUnreachable:
		return "bad"
	}
	return "muted"
}

// short cuts a long ID for a table cell; the full ID stays in the link and
// its title.
func short(s string) string {
	if len(s) <= 24 {
		return s
	}
	return s[:10] + "…" + s[len(s)-10:]
}

// queryValue escapes s as a query value for a template, typed as a URL so
// that html/template does not escape it a second time: it escapes a
// plain string in a URL's query itself, so "%2e" came out "%252e", a
// file called "my file" was asked for as "my+file", and the sandbox
// browser led to a 404 for every name with a space, '+', '%' or a byte
// beyond ASCII. QueryEscape's output is only unreserved characters, '+'
// and %XX, which is safe anywhere in a URL.
func queryValue(s string) template.URL { return template.URL(url.QueryEscape(s)) }
