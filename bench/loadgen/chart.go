package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Chart geometry, in SVG user units.
const (
	chartWidth   = 980
	chartColumns = 2
	panelWidth   = chartWidth / chartColumns
	labelWidth   = 120
	valueWidth   = 70
	barHeight    = 18
	barGap       = 5
	panelTitle   = 34
	panelBottom  = 18
	chartTitle   = 56
)

var palette = map[string]string{
	"cafeto":        "#d9480f",
	"cafeto-before": "#ffa94d",
	"coder":         "#1c7ed6",
	"gorilla":       "#4dabf7",
	"gws":           "#74c0fc",
	"fastapi":       "#2b8a3e",
	"nestjs":        "#ae3ec9",
	"nodews":        "#da77f2",
	"echo":          "#868e96",
}

// chart draws messages per second as one panel of horizontal bars per
// scenario, each panel on its own scale.
func chart(rs *results) string {
	rows := (len(rs.scenarios) + chartColumns - 1) / chartColumns
	panelHeight := panelTitle + len(rs.servers)*(barHeight+barGap) + panelBottom
	height := chartTitle + rows*panelHeight + 10

	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif">`+"\n",
		chartWidth, height, chartWidth, height)
	p(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	p(`<text x="%d" y="26" font-size="18" font-weight="bold" text-anchor="middle">Verified replies per second (higher is better)</text>`+"\n", chartWidth/2)
	p(`<text x="%d" y="44" font-size="12" fill="#495057" text-anchor="middle">server on one core, load generator on the other; each panel has its own scale</text>`+"\n", chartWidth/2)

	for i, s := range rs.scenarios {
		x0 := (i % chartColumns) * panelWidth
		y0 := chartTitle + (i/chartColumns)*panelHeight
		var top float64
		for _, name := range rs.servers {
			if r, ok := rs.load[[2]string{name, s.Scenario}]; ok && r.Error == "" {
				top = math.Max(top, r.Rate)
			}
		}
		p(`<text x="%d" y="%d" font-size="14" font-weight="bold">%s</text>`+"\n", x0+12, y0+22, html.EscapeString(scenarioLabel(s)))
		barMax := float64(panelWidth - labelWidth - valueWidth - 16)
		for j, name := range rs.servers {
			y := y0 + panelTitle + j*(barHeight+barGap)
			info := serverOf(name)
			p(`<text x="%d" y="%d" font-size="12" text-anchor="end">%s</text>`+"\n",
				x0+labelWidth, y+barHeight-5, html.EscapeString(info.short))
			r, ok := rs.load[[2]string{name, s.Scenario}]
			value := "not run"
			switch {
			case ok && r.Error != "":
				value = "failed"
			case ok && top > 0:
				w := math.Max(1, barMax*r.Rate/top)
				color := palette[name]
				if color == "" {
					color = "#495057"
				}
				p(`<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %.0f msg/s</title></rect>`+"\n",
					x0+labelWidth+6, y, w, barHeight, color, html.EscapeString(info.label), r.Rate)
				p(`<text x="%.1f" y="%d" font-size="12">%s</text>`+"\n",
					float64(x0+labelWidth+10)+w, y+barHeight-5, shortRate(r.Rate))
				continue
			}
			p(`<text x="%d" y="%d" font-size="12" fill="#868e96">%s</text>`+"\n", x0+labelWidth+10, y+barHeight-5, value)
		}
	}
	p("</svg>\n")
	return b.String()
}

// shortRate writes a rate with three significant digits: 987, 12.3k, 456k.
func shortRate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e5:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	case v >= 1e3:
		return fmt.Sprintf("%.2fk", v/1e3)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}
