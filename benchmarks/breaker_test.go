package benchmarks

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	eapache "github.com/eapache/go-resiliency/breaker"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/llm-research-lab/resilience/actor"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/sony/gobreaker/v2"
)

// The breaker benchmarks make one call through a breaker per operation.
// Every library is driven through the same harness: a call function bound
// to one breaker, taking the protected work and returning its error, so the
// harness overhead (one indirect call) is the same for all. Run them all
// with:
//
//	go test -run XXX -bench 'BenchmarkBreaker' -count 6 .
//
// The sub-benchmarks are named lib=<name>; lib=naive is the actor design
// the breaker package rejects (an Ask on every call), lib=mutex the
// smallest lock-based breaker.

var errWork = errors.New("work failed")

func okWork(context.Context) error   { return nil }
func failWork(context.Context) error { return errWork }

// call makes one call through a breaker.
type call func(work func(context.Context) error) error

// breakerLib builds a breaker of one library, closed or open.
type breakerLib struct {
	name string
	make func(tb testing.TB, open bool) call
}

var breakerLibs = []breakerLib{
	{"resilience", makeResilience},
	{"gobreaker", makeGobreaker},
	{"failsafe", makeFailsafe},
	{"eapache", makeEapache},
	{"mutex", makeMutex},
	{"naive", makeNaive},
}

func BenchmarkBreakerClosed(b *testing.B) {
	for _, l := range breakerLibs {
		b.Run("lib="+l.name, func(b *testing.B) {
			c := l.make(b, false)
			b.ReportAllocs()
			for b.Loop() {
				_ = c(okWork)
			}
		})
	}
}

func BenchmarkBreakerClosedParallel(b *testing.B) {
	for _, l := range breakerLibs {
		b.Run("lib="+l.name, func(b *testing.B) {
			c := l.make(b, false)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_ = c(okWork)
				}
			})
		})
	}
}

func BenchmarkBreakerOpen(b *testing.B) {
	for _, l := range breakerLibs {
		b.Run("lib="+l.name, func(b *testing.B) {
			c := l.make(b, true)
			b.ReportAllocs()
			for b.Loop() {
				_ = c(okWork)
			}
		})
	}
}

// BenchmarkBreakerMixedParallel fails one call in a hundred on each
// goroutine: never enough in a row to open any of the breakers, enough to
// exercise their failure paths.
func BenchmarkBreakerMixedParallel(b *testing.B) {
	for _, l := range breakerLibs {
		b.Run("lib="+l.name, func(b *testing.B) {
			c := l.make(b, false)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					if i%100 == 0 {
						_ = c(failWork)
					} else {
						_ = c(okWork)
					}
				}
			})
		})
	}
}

func makeResilience(tb testing.TB, open bool) call {
	ctx := context.Background()
	br, err := breaker.New(breaker.Config{OpenTimeout: time.Hour})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = br.Stop(ctx) })
	if open {
		events, err := br.Subscribe(ctx, 1)
		if err != nil {
			tb.Fatal(err)
		}
		for range breaker.DefaultFailureThreshold {
			_ = br.Call(ctx, failWork)
		}
		<-events // opened by its actor
	}
	return func(work func(context.Context) error) error { return br.Call(ctx, work) }
}

func makeGobreaker(tb testing.TB, open bool) call {
	ctx := context.Background()
	cb := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{Timeout: time.Hour})
	c := func(work func(context.Context) error) error {
		_, err := cb.Execute(func() (struct{}, error) { return struct{}{}, work(ctx) })
		return err
	}
	if open {
		for range 6 { // its default trips after more than 5 consecutive failures
			_ = c(failWork)
		}
		requireState(tb, cb.State() == gobreaker.StateOpen)
	}
	return c
}

func makeFailsafe(tb testing.TB, open bool) call {
	ctx := context.Background()
	cb := circuitbreaker.NewBuilder[any]().WithFailureThreshold(5).WithDelay(time.Hour).Build()
	ex := failsafe.With[any](cb)
	if open {
		cb.Open()
	}
	return func(work func(context.Context) error) error {
		return ex.Run(func() error { return work(ctx) })
	}
}

func makeEapache(tb testing.TB, open bool) call {
	ctx := context.Background()
	// go-resiliency counts errors within its timeout, not consecutive ones:
	// a threshold it never reaches keeps it closed under 1% failures.
	cb := eapache.New(1<<30, 1, time.Hour)
	if open {
		cb = eapache.New(1, 1, time.Hour)
		_ = cb.Run(func() error { return errWork })
		requireState(tb, cb.GetState() == eapache.Open)
	}
	return func(work func(context.Context) error) error {
		return cb.Run(func() error { return work(ctx) })
	}
}

func requireState(tb testing.TB, ok bool) {
	tb.Helper()
	if !ok {
		tb.Fatal("breaker did not open")
	}
}

var errMutexOpen = errors.New("mutex breaker: open")

// mutexBreaker is the smallest lock-based breaker: a consecutive-failure
// counter and an open flag under one mutex, no clock, no half-open.
type mutexBreaker struct {
	mu        sync.Mutex
	failures  int
	threshold int
	open      bool
}

func (m *mutexBreaker) call(ctx context.Context, work func(context.Context) error) error {
	m.mu.Lock()
	open := m.open
	m.mu.Unlock()
	if open {
		return errMutexOpen
	}
	err := work(ctx)
	m.mu.Lock()
	if err != nil {
		m.failures++
		m.open = m.failures >= m.threshold
	} else {
		m.failures = 0
	}
	m.mu.Unlock()
	return err
}

func makeMutex(tb testing.TB, open bool) call {
	ctx := context.Background()
	m := &mutexBreaker{threshold: 5, open: open}
	return func(work func(context.Context) error) error { return m.call(ctx, work) }
}

var errNaiveOpen = errors.New("naive breaker: open")

// naiveMsg is a message of the naive breaker actor: a permission request
// (with a reply) or an outcome report.
type naiveMsg struct {
	ask    actor.Reply[error]
	isAsk  bool
	failed bool
}

// makeNaive builds the design the breaker package rejects: the actor owns
// the state and every call asks it for permission (a round trip through
// its mailbox), then tells it the outcome.
func makeNaive(tb testing.TB, open bool) call {
	ctx := context.Background()
	failures := 0
	opened := open
	a, err := actor.Spawn(actor.Config{Name: "naive", Mailbox: 1024}, actor.Func[naiveMsg](func(_ *actor.Self[naiveMsg], m naiveMsg) {
		switch {
		case m.isAsk && opened:
			m.ask.Send(errNaiveOpen)
		case m.isAsk:
			m.ask.Send(nil)
		case m.failed:
			failures++
			opened = failures >= 5
		default:
			failures = 0
		}
	}))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _, _ = a.Stop(ctx, actor.Discard) })
	return func(work func(context.Context) error) error {
		denied, err := actor.Ask(ctx, a, func(r actor.Reply[error]) naiveMsg { return naiveMsg{ask: r, isAsk: true} })
		if err != nil {
			return err
		}
		if denied != nil {
			return denied
		}
		err = work(ctx)
		_ = a.Tell(naiveMsg{failed: err != nil})
		return err
	}
}
