package otelresilience

import (
	"errors"
	"math"

	"github.com/llm-research-lab/resilience/internal/metricset"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// instruments holds one observable instrument per metric of the
// catalogue, named resilience.<sub>.<name>: an Int64 gauge or counter, or
// a Float64 gauge for a fractional metric (the limiter's rate).
type instruments map[*metricset.Metric]metric.Observable

// newInstruments makes every instrument on m.
func newInstruments(m metric.Meter) (instruments, []metric.Observable, error) {
	ins := make(instruments, len(metricset.All))
	all := make([]metric.Observable, 0, len(metricset.All))
	var errs error
	for _, mt := range metricset.All {
		name := "resilience." + mt.Sub + "." + mt.Name
		unit, help := metric.WithUnit(mt.Unit), metric.WithDescription(mt.Help)
		var o metric.Observable
		var err error
		switch {
		case mt.Float:
			o, err = m.Float64ObservableGauge(name, unit, help)
		case mt.Kind == metricset.Counter:
			o, err = m.Int64ObservableCounter(name, unit, help)
		default:
			o, err = m.Int64ObservableGauge(name, unit, help)
		}
		errs = errors.Join(errs, err)
		ins[mt] = o
		all = append(all, o)
	}
	return ins, all, errs
}

// record observes one value of m for the component named name.
func (ins instruments) record(o metric.Observer, m *metricset.Metric, v float64, name, label string) {
	attrs := []attribute.KeyValue{attribute.String("name", name)}
	if m.Label != "" {
		attrs = append(attrs, attribute.String(m.Label, label))
	}
	opt := metric.WithAttributes(attrs...)
	switch inst := ins[m].(type) {
	case metric.Float64Observable:
		o.ObserveFloat64(inst, v, opt)
	case metric.Int64Observable:
		o.ObserveInt64(inst, int64(min(v, math.MaxInt64)), opt)
	}
}
