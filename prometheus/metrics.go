package promresilience

import (
	"github.com/llm-research-lab/resilience/internal/metricset"
	"github.com/prometheus/client_golang/prometheus"
)

// descs holds one descriptor per metric of the catalogue, named
// resilience_<sub>_<name> (with _total for a counter) and labelled by the
// component's name and then the metric's own label, if it has one.
var descs = func() map[*metricset.Metric]*prometheus.Desc {
	d := make(map[*metricset.Metric]*prometheus.Desc, len(metricset.All))
	for _, m := range metricset.All {
		name, labels := m.Name, []string{"name"}
		if m.Kind == metricset.Counter {
			name += "_total"
		}
		if m.Label != "" {
			labels = append(labels, m.Label)
		}
		d[m] = prometheus.NewDesc(prometheus.BuildFQName("resilience", m.Sub, name), m.Help, labels, nil)
	}
	return d
}()

// send sends one value of m for the component named name; a metric that
// cannot be built is sent as an invalid one, which fails the scrape with
// its error instead of a panic.
func send(ch chan<- prometheus.Metric, m *metricset.Metric, v float64, name, label string) {
	t, labels := prometheus.GaugeValue, []string{name}
	if m.Kind == metricset.Counter {
		t = prometheus.CounterValue
	}
	if m.Label != "" {
		labels = append(labels, label)
	}
	d := descs[m]
	pm, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		pm = prometheus.NewInvalidMetric(d, err)
	}
	ch <- pm
}
