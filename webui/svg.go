package webui

import (
	"fmt"
	"html/template"
	"strings"
	"time"
)

// usage is one resource's figures for the Overview's bars.
type usage struct {
	Name                       string
	Total, Used, Offered, Idle float64
}

// Bar draws the resource as an inline SVG bar: used, offered and idle
// shares of the total, with a text equivalent for screen readers and for
// browsers that show no SVG.
func (u usage) Bar() template.HTML {
	const width = 300.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="bar" viewBox="0 0 %g 14" width="%g" height="14" role="img" aria-label="%s: %s used, %s offered, %s idle of %s">`,
		width, width, template.HTMLEscapeString(u.Name), number(u.Used), number(u.Offered), number(u.Idle), number(u.Total))
	x := 0.0
	for _, part := range []struct {
		class string
		v     float64
	}{{"used", u.Used}, {"offered", u.Offered}, {"idle", u.Idle}} {
		if u.Total <= 0 || part.v <= 0 {
			continue
		}
		w := width * part.v / u.Total
		fmt.Fprintf(&b, `<rect class="%s" x="%.2f" y="0" width="%.2f" height="14"/>`, part.class, x, w)
		x += w
	}
	if u.Total <= 0 {
		fmt.Fprintf(&b, `<rect class="idle" x="0" y="0" width="%g" height="14"/>`, width)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// chart draws the running-tasks samples as an inline SVG line over the
// window ending at now.
func chart(samples []sample, now time.Time, window time.Duration) template.HTML {
	const w, h = 600.0, 120.0
	peak := 1
	for _, s := range samples {
		peak = max(peak, s.Running)
	}
	var pts []string
	for _, s := range samples {
		x := w - w*float64(now.Sub(s.At))/float64(window)
		y := h - (h-10)*float64(s.Running)/float64(peak)
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", max(0, x), y))
	}
	last := 0
	if len(samples) > 0 {
		last = samples[len(samples)-1].Running
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %g %g" role="img" aria-label="Running tasks over the last %s: now %d, peak %d">`,
		w, h, window, last, peak)
	fmt.Fprintf(&b, `<line class="axis" x1="0" y1="%g" x2="%g" y2="%g"/>`, h-0.5, w, h-0.5)
	fmt.Fprintf(&b, `<text class="peak" x="4" y="12">%d</text>`, peak)
	if len(pts) > 0 {
		fmt.Fprintf(&b, `<polyline class="line" points="%s"/>`, strings.Join(pts, " "))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
