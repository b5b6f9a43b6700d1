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
	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/actor"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/sony/gobreaker/v2"
)

// The breaker benchmarks make one call through a breaker per operation.
// Each library's loop calls its own API directly, as a user's code would:
// no harness closure or interface sits between the loop and the library,
// since an indirect call per operation (about 1 ns here) would weigh on the
// fastest rows far more than on the slowest. Run them all with:
//
//	go test -run XXX -bench 'BenchmarkBreaker' -count 6 .
//
// The sub-benchmarks are named lib=<name>; lib=naive is the actor design
// the breaker package rejects (an Ask on every call), lib=mutex the
// smallest lock-based breaker.

var errWork = errors.New("work failed")

func okWork(context.Context) error   { return nil }
func failWork(context.Context) error { return errWork }

// scenario is one breaker benchmark. Only parallel scenarios fail calls:
// a single goroutine always calls okWork, so its loop has nothing in it
// but the call.
type scenario struct {
	open      bool // trip the breaker first
	parallel  bool // b.RunParallel rather than one goroutine
	failEvery int  // every failEvery-th call of a goroutine fails; 0 never
}

// work returns the protected function for a goroutine's i-th call.
func (s scenario) work(i int) func(context.Context) error {
	if s.failEvery > 0 && i%s.failEvery == 0 {
		return failWork
	}
	return okWork
}

// breakerLib runs a scenario against one library.
type breakerLib struct {
	name  string
	bench func(b *testing.B, s scenario)
}

var breakerLibs = []breakerLib{
	{"resilience", benchResilience},
	{"gobreaker", benchGobreaker},
	{"failsafe", benchFailsafe},
	{"eapache", benchEapache},
	{"mutex", benchMutex},
	{"naive", benchNaive},
}

func runScenario(b *testing.B, s scenario) {
	if s.failEvery > 0 && !s.parallel {
		b.Fatal("a single-goroutine scenario always calls okWork")
	}
	for _, l := range breakerLibs {
		b.Run("lib="+l.name, func(b *testing.B) {
			b.ReportAllocs()
			l.bench(b, s)
		})
	}
}

func BenchmarkBreakerClosed(b *testing.B) { runScenario(b, scenario{}) }

func BenchmarkBreakerClosedParallel(b *testing.B) { runScenario(b, scenario{parallel: true}) }

func BenchmarkBreakerOpen(b *testing.B) { runScenario(b, scenario{open: true}) }

// BenchmarkBreakerMixedParallel fails one call in a hundred on each
// goroutine: never enough in a row to open any of the breakers, enough to
// exercise their failure paths.
func BenchmarkBreakerMixedParallel(b *testing.B) {
	runScenario(b, scenario{parallel: true, failEvery: 100})
}

// The bench functions below share one shape: build the breaker, then
// either a b.Loop loop around a direct call of okWork, or a b.RunParallel
// loop around a direct call of the scenario's work.

func benchResilience(b *testing.B, s scenario) {
	ctx := context.Background()
	br := newResilience(b, s.open)
	if !s.parallel {
		for b.Loop() {
			_, _ = resilience.Do(ctx, br, okValue)
		}
		return
	}
	b.RunParallel(func(pb *testing.PB) {
		for i := 1; pb.Next(); i++ {
			_, _ = resilience.Do(ctx, br, s.value(i))
		}
	})
}

// okValue and failValue are okWork and failWork for resilience.Do, which
// returns the function's value: that is how users call a breaker.
func okValue(context.Context) (struct{}, error)   { return struct{}{}, nil }
func failValue(context.Context) (struct{}, error) { return struct{}{}, errWork }

// value is work for resilience.Do.
func (s scenario) value(i int) func(context.Context) (struct{}, error) {
	if s.failEvery > 0 && i%s.failEvery == 0 {
		return failValue
	}
	return okValue
}

func newResilience(tb testing.TB, open bool) *breaker.Breaker {
	ctx := context.Background()
	events := make(chan breaker.Event, 1)
	br, err := breaker.New(breaker.Config{OpenTimeout: time.Hour, Events: events})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = br.Stop(ctx) })
	if open {
		for range 5 { // the default FailureThreshold
			_ = br.Run(ctx, failWork)
		}
		<-events // opened by its actor
	}
	return br
}

func benchGobreaker(b *testing.B, s scenario) {
	ctx := context.Background()
	cb := newGobreaker(b, s.open)
	if !s.parallel {
		for b.Loop() {
			_, _ = cb.Execute(func() (struct{}, error) { return struct{}{}, okWork(ctx) })
		}
		return
	}
	b.RunParallel(func(pb *testing.PB) {
		for i := 1; pb.Next(); i++ {
			w := s.work(i)
			_, _ = cb.Execute(func() (struct{}, error) { return struct{}{}, w(ctx) })
		}
	})
}

func newGobreaker(tb testing.TB, open bool) *gobreaker.CircuitBreaker[struct{}] {
	cb := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{Timeout: time.Hour})
	if open {
		for range 6 { // its default trips after more than 5 consecutive failures
			_, _ = cb.Execute(func() (struct{}, error) { return struct{}{}, errWork })
		}
		requireState(tb, cb.State() == gobreaker.StateOpen)
	}
	return cb
}

func benchFailsafe(b *testing.B, s scenario) {
	ctx := context.Background()
	cb := circuitbreaker.NewBuilder[any]().WithFailureThreshold(5).WithDelay(time.Hour).Build()
	ex := failsafe.With[any](cb)
	if s.open {
		cb.Open()
	}
	if !s.parallel {
		for b.Loop() {
			_ = ex.Run(func() error { return okWork(ctx) })
		}
		return
	}
	b.RunParallel(func(pb *testing.PB) {
		for i := 1; pb.Next(); i++ {
			w := s.work(i)
			_ = ex.Run(func() error { return w(ctx) })
		}
	})
}

func benchEapache(b *testing.B, s scenario) {
	ctx := context.Background()
	// go-resiliency counts errors within its timeout, not consecutive ones:
	// a threshold it never reaches keeps it closed under 1% failures.
	cb := eapache.New(1<<30, 1, time.Hour)
	if s.open {
		cb = eapache.New(1, 1, time.Hour)
		_ = cb.Run(func() error { return errWork })
		requireState(b, cb.GetState() == eapache.Open)
	}
	if !s.parallel {
		for b.Loop() {
			_ = cb.Run(func() error { return okWork(ctx) })
		}
		return
	}
	b.RunParallel(func(pb *testing.PB) {
		for i := 1; pb.Next(); i++ {
			w := s.work(i)
			_ = cb.Run(func() error { return w(ctx) })
		}
	})
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

func benchMutex(b *testing.B, s scenario) {
	ctx := context.Background()
	m := &mutexBreaker{threshold: 5, open: s.open}
	if !s.parallel {
		for b.Loop() {
			_ = m.call(ctx, okWork)
		}
		return
	}
	b.RunParallel(func(pb *testing.PB) {
		for i := 1; pb.Next(); i++ {
			_ = m.call(ctx, s.work(i))
		}
	})
}

var errNaiveOpen = errors.New("naive breaker: open")

// naiveMsg is a message of the naive breaker actor: a permission request
// (with a reply) or an outcome report.
type naiveMsg struct {
	ask    actor.Reply[error]
	isAsk  bool
	failed bool
}

// naiveBreaker is the design the breaker package rejects: the actor owns
// the state and every call asks it for permission (a round trip through
// its mailbox), then tells it the outcome.
type naiveBreaker struct{ a *actor.Actor[naiveMsg] }

func newNaive(tb testing.TB, open bool) naiveBreaker {
	failures := 0
	opened := open
	a, err := actor.Spawn(actor.Config{Name: "naive", Mailbox: 1024, DiscardOnStop: true}, func() actor.Behavior[naiveMsg] {
		return actor.Func[naiveMsg](func(_ *actor.Self[naiveMsg], m naiveMsg) {
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
		})
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = a.Stop(context.Background()) })
	return naiveBreaker{a}
}

func (n naiveBreaker) call(ctx context.Context, work func(context.Context) error) error {
	denied, err := actor.Ask(ctx, n.a, func(r actor.Reply[error]) naiveMsg { return naiveMsg{ask: r, isAsk: true} })
	if err != nil {
		return err
	}
	if denied != nil {
		return denied
	}
	err = work(ctx)
	_ = n.a.Tell(naiveMsg{failed: err != nil})
	return err
}

func benchNaive(b *testing.B, s scenario) {
	ctx := context.Background()
	n := newNaive(b, s.open)
	if !s.parallel {
		for b.Loop() {
			_ = n.call(ctx, okWork)
		}
		return
	}
	b.RunParallel(func(pb *testing.PB) {
		for i := 1; pb.Next(); i++ {
			_ = n.call(ctx, s.work(i))
		}
	})
}
