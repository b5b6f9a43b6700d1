// Command plots draws the delay distribution of each retry jitter strategy
// for docs/retry.md. It lives in its own module so the library's go.mod
// never lists gonum. Run it from this directory: go run .
package main

import (
	"image/color"
	"log"
	"math/rand/v2"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/llm-research-lab/resilience/retry"
)

const (
	retries = 8    // retry numbers on the x axis
	samples = 1500 // sampled call sequences per strategy
)

func main() {
	jitters := []retry.Jitter{retry.NoJitter, retry.FullJitter, retry.EqualJitter, retry.DecorrelatedJitter}
	plots := make([][]*plot.Plot, 2)
	for i, j := range jitters {
		p, err := panel(j)
		if err != nil {
			log.Fatal(err)
		}
		plots[i/2] = append(plots[i/2], p)
	}
	img := vgimg.New(11*vg.Inch, 7*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 2, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(plots, tiles, dc)
	for r := range plots {
		for c := range plots[r] {
			plots[r][c].Draw(canvases[r][c])
		}
	}
	if err := save(img, "../retry-jitter.png"); err != nil {
		log.Fatal(err)
	}
}

// panel samples call sequences for one strategy: each point is the wait
// before attempt n+1, spread a little around n so the density shows.
func panel(j retry.Jitter) (*plot.Plot, error) {
	r, err := retry.New(retry.Config{Jitter: j, MaxAttempts: retries + 1, MaxDelay: 10 * time.Second,
		Rand: rand.NewPCG(uint64(j)+1, 42)})
	if err != nil {
		return nil, err
	}
	spread := rand.New(rand.NewPCG(7, uint64(j)))
	pts := make(plotter.XYs, 0, samples*retries)
	for range samples {
		var prev time.Duration
		for n := 1; n <= retries; n++ {
			d := r.Delay(n, nil, prev)
			prev = d
			pts = append(pts, plotter.XY{X: float64(n) + (spread.Float64()-0.5)*0.5, Y: d.Seconds()})
		}
	}
	p := plot.New()
	p.Title.Text = j.String() + " jitter (exponential, 100ms ×2, max 10s)"
	p.X.Label.Text = "retry number"
	p.Y.Label.Text = "wait (s)"
	p.Y.Min, p.Y.Max = 0, 10.5
	sc, err := plotter.NewScatter(pts)
	if err != nil {
		return nil, err
	}
	sc.GlyphStyle.Radius = vg.Points(0.6)
	sc.GlyphStyle.Color = color.NRGBA{R: 30, G: 90, B: 200, A: 70}
	p.Add(sc, plotter.NewGrid())
	return p, nil
}
