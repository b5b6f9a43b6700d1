package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Drawing a small series: one SVG with a line per series and a band per
// phase of the load.
func Example() {
	dir, err := os.MkdirTemp("", "plot")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "series.csv")
	if err := os.WriteFile(path, []byte(sample), 0o600); err != nil {
		panic(err)
	}
	var b strings.Builder
	if err := run(path, &b); err != nil {
		panic(err)
	}
	svg := b.String()
	fmt.Println(strings.HasPrefix(svg, "<svg"), strings.HasSuffix(strings.TrimSpace(svg), "</svg>"))
	fmt.Println("lines:", strings.Count(svg, "<polyline"))
	fmt.Println(strings.Contains(svg, "overload"), strings.Contains(svg, "light load"))
	// Output:
	// true true
	// lines: 6
	// true true
}
