package fleet

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/fleet/internal/redistest"
	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
)

// BenchmarkFleetBreaker is the call path of a closed breaker: the local
// breaker alone, the fleet breaker in front of the same local breaker
// (its agent running against a real server), and gobreaker's distributed
// breaker on the same server.
func BenchmarkFleetBreaker(b *testing.B) {
	srv := redistest.Start(b)
	ctx := context.Background()
	b.Run("lib=local", func(b *testing.B) {
		local := newLocal(b, breaker.Config{})
		b.ReportAllocs()
		for b.Loop() {
			done, err := local.Allow(ctx)
			if err != nil {
				b.Fatal(err)
			}
			done(nil)
		}
	})
	b.Run("lib=fleet", func(b *testing.B) {
		a := newAgent(b, srv, Config{Namespace: "bench"})
		fb, err := a.Breaker("payments", newLocal(b, breaker.Config{}))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			done, err := fb.Allow(ctx)
			if err != nil {
				b.Fatal(err)
			}
			done(nil)
		}
	})
	b.Run("lib=gobreaker-redis", func(b *testing.B) {
		store := &gobreakerStore{rdb: newClient(b, srv)}
		cb, err := gobreaker.NewDistributedCircuitBreaker[struct{}](store, gobreaker.Settings{Name: "payments"})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cb.Execute(func() (struct{}, error) { return struct{}{}, nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// gobreakerStore is gobreaker's SharedDataStore on go-redis: a SET NX PX
// lock released by a compare-and-delete script, and the state in a string.
type gobreakerStore struct {
	rdb   *redis.Client
	token string
	n     int
}

var unlockScript = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)

var errLocked = errors.New("locked")

func (s *gobreakerStore) Lock(name string) error {
	s.n++
	s.token = strconv.Itoa(s.n)
	ok, err := s.rdb.SetNX(context.Background(), name, s.token, 5*time.Second).Result()
	if err == nil && !ok {
		err = errLocked
	}
	return err
}

func (s *gobreakerStore) Unlock(name string) error {
	return unlockScript.Run(context.Background(), s.rdb, []string{name}, s.token).Err()
}

func (s *gobreakerStore) GetData(name string) ([]byte, error) {
	v, err := s.rdb.Get(context.Background(), name).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return v, err
}

func (s *gobreakerStore) SetData(name string, data []byte) error {
	return s.rdb.Set(context.Background(), name, data, 0).Err()
}

// BenchmarkFleetFigures reports the fleet's costs as metrics; each
// sub-benchmark measures once, in real time, whatever b.N.
func BenchmarkFleetFigures(b *testing.B) {
	for _, n := range []int{1, 10} {
		b.Run("ops/replicas="+strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				b.ReportMetric(opsPer1k(b, n, 25, 10*time.Second), "ops/1kcalls")
			}
		})
	}
	b.Run("propagation/replicas=10", func(b *testing.B) {
		for b.Loop() {
			ms := propagation(b, 10, 20)
			b.ReportMetric(p99(ms), "propagation-ms")
		}
	})
	b.Run("hang/replicas=3", func(b *testing.B) {
		for b.Loop() {
			before, during := hangLatency(b)
			b.ReportMetric(before, "p99-µs-healthy")
			b.ReportMetric(during, "p99-µs-redis-hung")
		}
	})
	b.Run("memory/replicas=10", func(b *testing.B) {
		for b.Loop() {
			b.ReportMetric(float64(memoryPerDependency(b, 10)), "bytes/dependency")
		}
	})
	b.Run("limiter/replicas=3", func(b *testing.B) {
		for b.Loop() {
			admitted, took, bound := limiterOvershoot(b)
			b.ReportMetric(admitted/took.Seconds(), "admitted/s")
			b.ReportMetric(bound/took.Seconds(), "bound/s")
		}
	})
}
