package main

import (
	"encoding/csv"
	"fmt"
	"image/color"
	"os"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// pass is one pass of the scenario, as read from the CSV.
type pass struct {
	name      string
	from, to  float64                // the outage, seconds
	end       float64                // the last request's start
	byOutcome map[string]plotter.XYs // (start s, latency ms) per outcome
	changes   []change               // breaker state changes of the route's upstream
}

type change struct {
	t     float64
	state string
}

// load reads the timeline CSV, keeping the given route.
func load(path, route string) (map[string]*pass, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, err
	}
	passes := map[string]*pass{}
	for i, r := range recs {
		if i == 0 || len(r) != 7 || r[3] != route {
			continue
		}
		p := passes[r[0]]
		if p == nil {
			p = &pass{name: r[0], byOutcome: map[string]plotter.XYs{}}
			passes[r[0]] = p
		}
		t, err := strconv.ParseFloat(r[2], 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		switch r[1] {
		case "outage_start":
			p.from = t
		case "outage_end":
			p.to = t
		case "breaker":
			p.changes = append(p.changes, change{t, r[6]})
		case "request":
			ms, err := strconv.ParseFloat(r[4], 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", i+1, err)
			}
			p.byOutcome[r[5]] = append(p.byOutcome[r[5]], plotter.XY{X: t, Y: max(ms, 0.1)})
			p.end = max(p.end, t)
		}
	}
	if len(passes) != 2 {
		return nil, fmt.Errorf("%s: want the two passes of the demo, found %d", path, len(passes))
	}
	return passes, nil
}

var (
	outcomeColors = map[string]color.NRGBA{
		"ok":       {R: 40, G: 150, B: 60, A: 170},
		"fastfail": {R: 40, G: 90, B: 210, A: 170},
		"timeout":  {R: 210, G: 40, B: 40, A: 170},
		"error":    {R: 230, G: 140, B: 0, A: 170},
	}
	stateColors = map[string]color.NRGBA{
		"closed":    {R: 40, G: 150, B: 60, A: 255},
		"open":      {R: 210, G: 40, B: 40, A: 255},
		"half-open": {R: 230, G: 160, B: 0, A: 255},
	}
	outcomeOrder = []string{"ok", "fastfail", "timeout", "error"}
)

const (
	yMin, yMax = 0.1, 20000.0 // ms, log scale
	stripY     = 10000.0      // where the breaker strip is drawn
	legendRoom = 2.6          // seconds of empty x axis on the right, for the legend
)

// panel draws one pass: a scatter of latencies by outcome over the
// outage band, and the breaker's state as a strip along the top.
func panel(p *pass, route string) (*plot.Plot, error) {
	if p == nil {
		return nil, fmt.Errorf("missing pass")
	}
	pl := plot.New()
	pl.Title.Text = fmt.Sprintf("/api/%s, %s: latency of each request by start time", route, p.name)
	pl.X.Label.Text = "seconds since the pass began"
	pl.Y.Label.Text = "latency (ms, log scale)"
	pl.Y.Scale = plot.LogScale{}
	pl.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	pl.Y.Min, pl.Y.Max = yMin, yMax
	pl.X.Min, pl.X.Max = 0, p.end+legendRoom
	pl.Legend.Top = true

	band, err := plotter.NewPolygon(plotter.XYs{{X: p.from, Y: yMin}, {X: p.to, Y: yMin}, {X: p.to, Y: yMax}, {X: p.from, Y: yMax}})
	if err != nil {
		return nil, err
	}
	band.Color = color.NRGBA{R: 120, G: 120, B: 120, A: 40}
	band.LineStyle.Width = 0
	pl.Add(band, plotter.NewGrid())
	pl.Legend.Add("outage", band)

	for _, o := range outcomeOrder {
		pts := p.byOutcome[o]
		if len(pts) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle.Color = outcomeColors[o]
		sc.GlyphStyle.Radius = vg.Points(1.6)
		sc.GlyphStyle.Shape = draw.CircleGlyph{}
		pl.Add(sc)
		pl.Legend.Add(fmt.Sprintf("%s (%d)", o, len(pts)), sc)
	}
	return pl, strip(pl, p)
}

// strip draws the breaker's state as thick segments along the top.
func strip(pl *plot.Plot, p *pass) error {
	if len(p.changes) == 0 {
		return nil // no breaker: the plain client
	}
	state, from := "closed", 0.0
	seen := map[string]bool{}
	draw1 := func(to float64) error {
		l, err := plotter.NewLine(plotter.XYs{{X: from, Y: stripY}, {X: to, Y: stripY}})
		if err != nil {
			return err
		}
		l.LineStyle.Width = vg.Points(7)
		l.LineStyle.Color = stateColors[state]
		pl.Add(l)
		if !seen[state] {
			seen[state] = true
			pl.Legend.Add("breaker "+state, l)
		}
		return nil
	}
	for _, c := range p.changes {
		if err := draw1(c.t); err != nil {
			return err
		}
		state, from = c.state, c.t
	}
	return draw1(p.end + 0.2)
}
