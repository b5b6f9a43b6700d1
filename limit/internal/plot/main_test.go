package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `seconds,phase,knee,limit,p99_ms,fixed_p99_ms
0.1,overload,20,21,11.8,47.0
0.2,overload,20,22,13.7,47.1
0.3,light load,20,25,10.0,12.0
`

func write(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "series.csv")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDrawsEverySeriesAndPhase(t *testing.T) {
	var b strings.Builder
	if err := run(write(t, sample), &b); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	if !strings.HasPrefix(svg, "<svg") || !strings.HasSuffix(svg, "</svg>\n") {
		t.Fatalf("not an SVG document: %.60q", svg)
	}
	if n := strings.Count(svg, "<polyline"); n != 6 {
		t.Errorf("%d series drawn, want 6 (knee, fixed, limit; threshold, fixed p99, p99)", n)
	}
	for _, want := range []string{">overload<", ">light load<", "2 × unloaded latency"} {
		if !strings.Contains(svg, want) {
			t.Errorf("missing %q", want)
		}
	}
}

func TestRejectsMalformedInput(t *testing.T) {
	for name, text := range map[string]string{
		"empty":        "",
		"header only":  "seconds,phase,knee,limit,p99_ms,fixed_p99_ms\n",
		"short row":    "h\n0.1,overload,20\n",
		"not a number": "h,h,h,h,h,h\n0.1,overload,twenty,21,11.8,47.0\n",
	} {
		if err := run(write(t, text), new(strings.Builder)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if err := run(filepath.Join(t.TempDir(), "missing.csv"), new(strings.Builder)); err == nil {
		t.Error("missing file: no error")
	}
}

// Any input either draws an SVG or is refused with an error; never a panic.
func FuzzRead(f *testing.F) {
	f.Add(sample)
	f.Add("h,h,h,h,h,h\n1,a,1,1,1,\n")
	f.Add("h,h,h,h,h,h\nNaN,a,Inf,-1,1e308,0\n")
	f.Fuzz(func(t *testing.T, text string) {
		var b strings.Builder
		if err := run(write(t, text), &b); err == nil && !strings.HasSuffix(b.String(), "</svg>\n") {
			t.Fatalf("no error and no SVG for %q", text)
		}
	})
}
