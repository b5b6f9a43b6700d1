package breaker

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func newIndex[K comparable]() *index[K] {
	x := new(index[K])
	x.init()
	return x
}

// TestIndexMatchesAMap drives the index and a plain map with the same
// random inserts and removals and checks every key after each step.
func TestIndexMatchesAMap(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		x := newIndex[int]()
		model := map[int]*entry[int]{}
		for range rapid.IntRange(1, 300).Draw(t, "steps") {
			k := rapid.IntRange(0, 40).Draw(t, "key")
			if e, ok := model[k]; ok {
				x.remove(e)
				delete(model, k)
			} else {
				e := &entry[int]{key: k}
				x.insert(e)
				model[k] = e
			}
			require.Equal(t, len(model), x.live)
			for k := range 41 {
				want := model[k]
				if got := x.load(k); got != want {
					t.Fatalf("key %d: got %p, want %p", k, got, want)
				}
			}
		}
		n := 0
		x.each(func(*entry[int]) { n++ })
		require.Equal(t, len(model), n)
	})
}

func TestIndexZeroKeyIsNotATombstone(t *testing.T) {
	x := newIndex[string]()
	e := &entry[string]{key: ""}
	x.insert(e)
	x.remove(e)
	assert.Nil(t, x.load(""))
	e2 := &entry[string]{key: ""}
	x.insert(e2)
	assert.Same(t, e2, x.load(""))
}

// TestIndexReadersRaceWriters has readers look keys up while a writer,
// holding the mutex as the family does, inserts, removes and grows the
// table. A reader may miss a key that is being changed, but never gets
// another key's entry. Run it with -race.
func TestIndexReadersRaceWriters(t *testing.T) {
	x := newIndex[string]()
	var mu sync.Mutex
	stable := &entry[string]{key: "stable"}
	x.insert(stable)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				require.Same(t, stable, x.load("stable"), "a key nobody touches is always found")
				if e := x.load("k7"); e != nil {
					require.Equal(t, "k7", e.key)
				}
			}
		})
	}
	for round := range 20 {
		var es []*entry[string]
		mu.Lock()
		for i := range 200 {
			e := &entry[string]{key: fmt.Sprint("k", i)}
			x.insert(e)
			es = append(es, e)
		}
		mu.Unlock()
		mu.Lock()
		for _, e := range es[:100+round] {
			x.remove(e)
		}
		for _, e := range es[100+round:] {
			x.remove(e)
		}
		mu.Unlock()
	}
	close(done)
	wg.Wait()
	assert.Equal(t, 1, x.live)
}
