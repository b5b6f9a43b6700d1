// Command demo-plots draws docs/demo-timeline.png from the CSV that
// `go run ./cmd/demo -timeline FILE` writes: the latency of every payments
// request through the outage, with and without the library, and the
// breaker's state above it. It lives in its own module so the library's
// go.mod never lists gonum. From the repository root:
//
//	go run ./cmd/demo -timeline /tmp/timeline.csv
//	cd docs/demo-plots && go run . -in /tmp/timeline.csv -out ../demo-timeline.png
package main

import (
	"flag"
	"log"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

func main() {
	in := flag.String("in", "/tmp/timeline.csv", "the demo's -timeline CSV")
	out := flag.String("out", "../demo-timeline.png", "the PNG to write")
	route := flag.String("route", "payments", "the route to plot")
	flag.Parse()
	if err := run(*in, *out, *route); err != nil {
		log.Fatal(err)
	}
}

func run(in, out, route string) error {
	passes, err := load(in, route)
	if err != nil {
		return err
	}
	var rows [][]*plot.Plot
	for _, name := range []string{"with library", "without"} {
		p, err := panel(passes[name], route)
		if err != nil {
			return err
		}
		rows = append(rows, []*plot.Plot{p})
	}
	img := vgimg.New(10*vg.Inch, 7.5*vg.Inch)
	tiles := draw.Tiles{Rows: len(rows), Cols: 1, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 6,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(rows, tiles, draw.New(img))
	for r := range rows {
		rows[r][0].Draw(canvases[r][0])
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
