//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// The plots are drawn by hand as SVG: a cumulative distribution per
// latency series, on a logarithmic time axis, with the p50 and p99 marked.
// No third-party front-end code (DESIGN.md).

// plotFile draws the plots of a results.json into dir.
func plotFile(path, dir string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read report: %w", err)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("decode report %s: %w", path, err)
	}
	return plotReport(&r, dir)
}

// plotReport writes one SVG per item with latency series: latency-a.svg,
// latency-c.svg.
func plotReport(r *Report, dir string) error {
	byItem := map[string][]string{}
	for name := range r.Latencies {
		item, _, _ := strings.Cut(name, "/")
		byItem[item] = append(byItem[item], name)
	}
	titles := map[string]string{
		"a": "Wasm launch latency: ACCEPT sent → TASK_RUNNING received",
		"c": "Native launch latency beside a bare fork+exec+wait",
	}
	for item, names := range byItem {
		sort.Strings(names)
		title := titles[item]
		if title == "" {
			title = "Latency, item " + item
		}
		series := make([]series, 0, len(names))
		for _, n := range names {
			series = append(series, newSeries(n, r.Latencies[n]))
		}
		svg := cdfSVG(title, series)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("plot directory: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "latency-"+item+".svg"), []byte(svg), 0o644); err != nil {
			return fmt.Errorf("write plot: %w", err)
		}
	}
	return nil
}

// series is one latency sample set, sorted, in milliseconds.
type series struct {
	name string
	ms   []float64
}

func newSeries(name string, ms []float64) series {
	s := slices.Clone(ms)
	slices.Sort(s)
	return series{name: name, ms: s}
}

// quantile returns the nearest-rank quantile q in (0, 1].
func (s series) quantile(q float64) float64 {
	k := int(math.Ceil(float64(len(s.ms))*q)) - 1
	return s.ms[max(0, min(k, len(s.ms)-1))]
}

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"}

// cdfSVG draws the cumulative distributions of the series.
func cdfSVG(title string, ss []series) string {
	const w, h, left, right, top, bottom = 760.0, 440.0, 70.0, 20.0, 50.0, 60.0
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		if len(s.ms) > 0 {
			lo, hi = math.Min(lo, s.ms[0]), math.Max(hi, s.ms[len(s.ms)-1])
		}
	}
	if math.IsInf(lo, 0) || lo <= 0 {
		lo = 0.001
	}
	lx0, lx1 := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if lx1 <= lx0 {
		lx1 = lx0 + 1
	}
	x := func(v float64) float64 {
		return left + (math.Log10(math.Max(v, 1e-9))-lx0)/(lx1-lx0)*(w-left-right)
	}
	y := func(p float64) float64 { return top + (1-p)*(h-top-bottom) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", left, esc(title))
	// Grid: decades and their 2 and 5, and tenths of probability.
	for d := lx0; d <= lx1; d++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, d)
			if math.Log10(v) > lx1+1e-9 {
				break
			}
			stroke := "#eee"
			if m == 1 {
				stroke = "#ccc"
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x(v), h-bottom+18, msLabel(v))
			}
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`+"\n", x(v), top, x(v), h-bottom, stroke)
		}
	}
	for i := 0; i <= 10; i++ {
		p := float64(i) / 10
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>`+"\n", left, y(p), w-right, y(p))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%.1f</text>`+"\n", left-6, y(p)+4, p)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">latency (ms, log scale)</text>`+"\n", (left+w-right)/2, h-18)
	fmt.Fprintf(&b, `<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle">fraction of tasks at or below</text>`+"\n", (top+h-bottom)/2)
	for i, s := range ss {
		if len(s.ms) == 0 {
			continue
		}
		col := palette[i%len(palette)]
		var pts []string
		n := float64(len(s.ms))
		for k, v := range s.ms {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f %.1f,%.1f", x(v), y(float64(k)/n), x(v), y(float64(k+1)/n)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", col, strings.Join(pts, " "))
		for _, q := range []float64{0.5, 0.99} {
			v := s.quantile(q)
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s"/>`+"\n", x(v), y(q), col)
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="14" height="4" fill="%s"/>`+"\n", left+12, top+12+float64(i)*18, col)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s: p50 %s, p99 %s, n=%d</text>`+"\n", left+32, top+17+float64(i)*18,
			esc(s.name), msLabel(s.quantile(0.5)), msLabel(s.quantile(0.99)), len(s.ms))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// msLabel prints a duration in milliseconds compactly.
func msLabel(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.3g s", v/1000)
	case v >= 1:
		return fmt.Sprintf("%.3g ms", v)
	}
	return fmt.Sprintf("%.3g µs", v*1000)
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
