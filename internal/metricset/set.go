package metricset

import (
	"fmt"
	"reflect"
	"sync"
	"unicode/utf8"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/bulkhead"
	"github.com/llm-research-lab/resilience/deadline"
	"github.com/llm-research-lab/resilience/limit"
	"github.com/llm-research-lab/resilience/retry"
)

// Set is the components an exporter reads, each under a name. The zero
// value is an empty Set ready to use; it is safe for concurrent use.
type Set struct {
	mu      sync.Mutex
	sources map[key]Source
}

// key identifies one component: its kind and name.
type key struct{ kind, name string }

// entry is one component ready to be added.
type entry struct {
	key key
	src Source
}

// Each calls f for every component, with its name. It holds the Set's
// lock only while it copies the list, so f may take its time.
func (s *Set) Each(f func(name string, src Source)) {
	s.mu.Lock()
	list := make([]entry, 0, len(s.sources))
	for k, src := range s.sources {
		list = append(list, entry{k, src})
	}
	s.mu.Unlock()
	for _, e := range list {
		f(e.key.name, e.src)
	}
}

// Breaker adds b under name. It returns a *resilience.ConfigError if name
// is empty or not valid UTF-8, if b is nil, or if a breaker is already
// registered under name.
func (s *Set) Breaker(name string, b *breaker.Breaker) error {
	if b == nil {
		return nilErr("breaker")
	}
	return s.add(entry{key{"breaker", name}, breakerSource(b)})
}

// Family adds a keyed breaker family (of any key type) under name.
func (s *Set) Family(name string, f interface{ Metrics() breaker.FamilyMetrics }) error {
	if f == nil || isNilPointer(f) {
		return nilErr("family")
	}
	return s.add(entry{key{"family", name}, familySource(f)})
}

// Limiter adds a rate limiter under name.
func (s *Set) Limiter(name string, r *limit.Rate) error {
	if r == nil {
		return nilErr("limiter")
	}
	return s.add(entry{key{"limiter", name}, limiterSource(r)})
}

// Retry adds a retry policy under name.
func (s *Set) Retry(name string, p *retry.Policy) error {
	if p == nil {
		return nilErr("retry")
	}
	return s.add(entry{key{"retry", name}, retrySource(p)})
}

// Bulkhead adds a bulkhead under name.
func (s *Set) Bulkhead(name string, b *bulkhead.Bulkhead) error {
	if b == nil {
		return nilErr("bulkhead")
	}
	return s.add(entry{key{"bulkhead", name}, bulkheadSource(b)})
}

// Watchdog adds a deadline watchdog under name.
func (s *Set) Watchdog(name string, w *deadline.Watchdog) error {
	if w == nil {
		return nilErr("watchdog")
	}
	return s.add(entry{key{"watchdog", name}, watchdogSource(w)})
}

// Pipeline adds, under p.Name, each slot of p that holds one of this
// module's components; other slots are left out. It adds all of them or,
// on error, none.
func (s *Set) Pipeline(p *resilience.Pipeline) error {
	if p == nil {
		return nilErr("pipeline")
	}
	var list []entry
	put := func(kind string, src Source) { list = append(list, entry{key{kind, p.Name}, src}) }
	if r, ok := p.Limiter.(*limit.Rate); ok && r != nil {
		put("limiter", limiterSource(r))
	}
	if r, ok := p.Retry.(*retry.Policy); ok && r != nil {
		put("retry", retrySource(r))
	}
	if b, ok := p.Breaker.(*breaker.Breaker); ok && b != nil {
		put("breaker", breakerSource(b))
	}
	if b, ok := p.Bulkhead.(*bulkhead.Bulkhead); ok && b != nil {
		put("bulkhead", bulkheadSource(b))
	}
	if w, ok := p.Timer.(*deadline.Watchdog); ok && w != nil {
		put("watchdog", watchdogSource(w))
	}
	if len(list) == 0 {
		return checkName(p.Name)
	}
	return s.add(list...)
}

// Remove takes every component added under name out of the Set.
func (s *Set) Remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.sources {
		if k.name == name {
			delete(s.sources, k)
		}
	}
}

// add adds every entry, or none if one is invalid or taken.
func (s *Set) add(list ...entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sources == nil {
		s.sources = map[key]Source{}
	}
	for _, e := range list {
		if err := checkName(e.key.name); err != nil {
			return err
		}
		if _, taken := s.sources[e.key]; taken {
			return &resilience.ConfigError{Field: "name",
				Reason: fmt.Sprintf("%q is already registered for a %s", e.key.name, e.key.kind)}
		}
	}
	for _, e := range list {
		s.sources[e.key] = e.src
	}
	return nil
}

func checkName(name string) error {
	switch {
	case name == "":
		return &resilience.ConfigError{Field: "name", Reason: "must not be empty"}
	case !utf8.ValidString(name):
		return &resilience.ConfigError{Field: "name", Reason: "must be valid UTF-8"}
	}
	return nil
}

// isNilPointer reports whether v holds a nil pointer, such as a nil
// *breaker.Family[K] of any K.
func isNilPointer(v any) bool {
	r := reflect.ValueOf(v)
	return r.Kind() == reflect.Pointer && r.IsNil()
}

func nilErr(field string) error {
	return &resilience.ConfigError{Field: field, Reason: "must not be nil"}
}
