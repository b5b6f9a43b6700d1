// Command plot draws the adaptive limiter's simulation as an SVG: the
// limit against the upstream's knee, and the p99 latency of the adaptive
// limit against a fixed one. It reads the CSV the simulation writes:
//
//	go test -run TestAdaptiveSimulation ./limit -args -plot=/tmp/sim.csv
//	go run ./limit/internal/plot /tmp/sim.csv > docs/adaptive-limit.svg
package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// row is one tick of the simulation.
type row struct {
	t, knee, limit, p99, fixedP99 float64
	phase                         string
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: plot series.csv > plot.svg")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "plot:", err)
		os.Exit(1)
	}
}

func run(path string, w io.Writer) error {
	rows, err := read(path)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, draw(rows))
	return err
}

// read parses the CSV: seconds,phase,knee,limit,p99_ms,fixed_p99_ms.
func read(path string) ([]row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) < 2 {
		return nil, fmt.Errorf("%s: no rows", path)
	}
	var rows []row
	for i, r := range recs[1:] {
		if len(r) != 6 {
			return nil, fmt.Errorf("%s: line %d: want 6 fields, got %d", path, i+2, len(r))
		}
		v := make([]float64, 0, 5)
		for _, s := range []string{r[0], r[2], r[3], r[4], r[5]} {
			x, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: line %d: %w", path, i+2, err)
			}
			if math.IsNaN(x) || x < 0 || x > 1e6 {
				return nil, fmt.Errorf("%s: line %d: %q is not a number in [0, 1e6]", path, i+2, s)
			}
			v = append(v, x)
		}
		if len(rows) > 0 && v[0] <= rows[len(rows)-1].t {
			return nil, fmt.Errorf("%s: line %d: time does not increase", path, i+2)
		}
		rows = append(rows, row{t: v[0], knee: v[1], limit: v[2], p99: v[3], fixedP99: v[4], phase: r[1]})
	}
	return rows, nil
}

// panel maps data coordinates into one plot area.
type panel struct {
	x0, y0, w, h float64 // area, in pixels
	tMax, yMax   float64 // data ranges, from 0
}

func (p panel) px(t float64) float64 { return p.x0 + t/p.tMax*p.w }
func (p panel) py(y float64) float64 { return p.y0 + p.h - min(y, p.yMax)/p.yMax*p.h }

// line draws a series as a polyline.
func (p panel) line(b *strings.Builder, rows []row, y func(row) float64, style string) {
	var pts []string
	for _, r := range rows {
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", p.px(r.t), p.py(y(r))))
	}
	fmt.Fprintf(b, `<polyline fill="none" %s points="%s"/>`+"\n", style, strings.Join(pts, " "))
}

// axes draws the frame, the y ticks and the y label.
func (p panel) axes(b *strings.Builder, step float64, label string) {
	fmt.Fprintf(b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#444"/>`+"\n", p.x0, p.y0, p.w, p.h)
	for y := 0.0; y <= p.yMax; y += step { // yMax and step are constants
		fmt.Fprintf(b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", p.x0, p.x0+p.w, p.py(y), p.py(y))
		fmt.Fprintf(b, `<text x="%.0f" y="%.1f" text-anchor="end">%g</text>`+"\n", p.x0-6, p.py(y)+4, y)
	}
	fmt.Fprintf(b, `<text transform="translate(%.0f,%.0f) rotate(-90)" text-anchor="middle">%s</text>`+"\n",
		p.x0-40, p.y0+p.h/2, label)
}

// phases shades every other phase and names each one over the top panel.
func phases(b *strings.Builder, rows []row, top, bottom panel) {
	start, shade := 0.0, false
	for i, r := range rows {
		if i+1 < len(rows) && rows[i+1].phase == r.phase {
			continue
		}
		end := r.t
		if shade {
			fmt.Fprintf(b, `<rect x="%.1f" y="%.0f" width="%.1f" height="%.0f" fill="#f3f3f3"/>`+"\n",
				top.px(start), top.y0, top.px(end)-top.px(start), bottom.y0+bottom.h-top.y0)
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%.0f" text-anchor="middle">%s</text>`+"\n", (top.px(start)+top.px(end))/2, top.y0-8, r.phase)
		start, shade = end, !shade
	}
}

func legend(b *strings.Builder, x, y float64, items [][2]string) {
	for i, it := range items {
		yy := y + float64(i)*16
		fmt.Fprintf(b, `<line x1="%.0f" x2="%.0f" y1="%.0f" y2="%.0f" %s/>`+"\n", x, x+24, yy, yy, it[1])
		fmt.Fprintf(b, `<text x="%.0f" y="%.0f">%s</text>`+"\n", x+30, yy+4, it[0])
	}
}

const (
	blue   = `stroke="#1f5fbf" stroke-width="2"`
	orange = `stroke="#e07b00" stroke-width="2" stroke-dasharray="6 3"`
	grey   = `stroke="#777" stroke-width="1.5" stroke-dasharray="2 3"`
	red    = `stroke="#c0392b" stroke-width="1.5" stroke-dasharray="8 4"`
)

// draw renders both panels.
func draw(rows []row) string {
	tMax := max(rows[len(rows)-1].t, 1)
	top := panel{x0: 70, y0: 40, w: 660, h: 170, tMax: tMax, yMax: 45}
	bottom := panel{x0: 70, y0: 250, w: 660, h: 170, tMax: tMax, yMax: 70}
	var b strings.Builder
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" width="800" height="480" font-family="sans-serif" font-size="12">` + "\n")
	b.WriteString(`<rect width="800" height="480" fill="white"/>` + "\n")
	phases(&b, rows, top, bottom)
	top.axes(&b, 10, "calls in flight")
	bottom.axes(&b, 10, "p99 latency (ms)")
	step := max(2, math.Ceil(tMax/20))
	for t := 0.0; t <= tMax; t += step {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle">%g</text>`+"\n", bottom.px(t), bottom.y0+bottom.h+16, t)
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="middle">seconds (virtual time)</text>`+"\n", bottom.x0+bottom.w/2, bottom.y0+bottom.h+34)
	top.line(&b, rows, func(r row) float64 { return r.knee }, grey)
	top.line(&b, rows, func(r row) float64 { return 40 }, orange)
	top.line(&b, rows, func(r row) float64 { return r.limit }, blue)
	bottom.line(&b, rows, func(row) float64 { return 20 }, red)
	bottom.line(&b, rows, func(r row) float64 { return r.fixedP99 }, orange)
	bottom.line(&b, rows, func(r row) float64 { return r.p99 }, blue)
	legend(&b, 335, 100, [][2]string{{"adaptive limit", blue}, {"fixed limit 40", orange}, {"upstream knee", grey}})
	legend(&b, 560, 262, [][2]string{{"adaptive", blue}, {"fixed limit 40", orange}, {"2 × unloaded latency", red}})
	b.WriteString("</svg>\n")
	return b.String()
}
