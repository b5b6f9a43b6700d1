package lifecycle

import (
	"reflect"
	"sync"
)

// groupSize is how many children one watcher goroutine watches.
const groupSize = 128

// watcher reports the exits of children that cannot report them
// themselves (any Component not of this package: an actor, a breaker),
// by watching their Done channels. One goroutine watches up to groupSize
// children, so a supervised actor costs a fraction of a goroutine on top
// of its own. The executor adds and removes children; the goroutines end
// when quit is closed, and the run waits for them before it is done.
type watcher struct {
	r      *run
	quit   chan struct{}       // closed by the executor as the run ends
	wg     sync.WaitGroup      // the group goroutines
	groups []*watchGroup       // executor-only
	where  map[int]*watchGroup // child index → its group; executor-only
}

// watchGroup is the set of children one goroutine watches.
type watchGroup struct {
	mu    sync.Mutex
	items map[int]watched // by child index
	kick  chan struct{}   // capacity 1: the set changed
}

type watched struct {
	gen  uint64
	c    Component
	done <-chan struct{} // c.Done() of incarnation gen, read once it started
}

func newWatcher(r *run) *watcher {
	return &watcher{r: r, quit: make(chan struct{}), where: map[int]*watchGroup{}}
}

// add watches child j's incarnation gen.
func (w *watcher) add(j int, gen uint64, c Component) {
	g := w.open()
	g.mu.Lock()
	g.items[j] = watched{gen, c, c.Done()}
	g.mu.Unlock()
	w.where[j] = g
	g.poke()
}

// remove stops watching child j, if it is watched.
func (w *watcher) remove(j int) {
	g := w.where[j]
	if g == nil {
		return
	}
	delete(w.where, j)
	g.mu.Lock()
	delete(g.items, j)
	g.mu.Unlock()
	g.poke()
}

// open returns a group with room, starting a new one if none has.
func (w *watcher) open() *watchGroup {
	for _, g := range w.groups {
		g.mu.Lock()
		n := len(g.items)
		g.mu.Unlock()
		if n < groupSize {
			return g
		}
	}
	g := &watchGroup{items: map[int]watched{}, kick: make(chan struct{}, 1)}
	w.groups = append(w.groups, g)
	w.wg.Go(func() { w.loop(g) })
	return g
}

// stop ends the group goroutines and waits for them.
func (w *watcher) stop() {
	close(w.quit)
	w.wg.Wait()
}

func (g *watchGroup) poke() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// loop waits for any watched child to exit, or for the set to change,
// and reports each exit once.
func (w *watcher) loop(g *watchGroup) {
	cases := []reflect.SelectCase{
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(w.quit)},
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(g.kick)},
	}
	type key struct {
		j   int
		gen uint64
	}
	var keys []key
	for {
		cases, keys = cases[:2], keys[:0]
		g.mu.Lock()
		for j, it := range g.items {
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(it.done)})
			keys = append(keys, key{j, it.gen})
		}
		g.mu.Unlock()
		i, _, _ := reflect.Select(cases)
		switch i {
		case 0:
			return
		case 1:
			continue
		}
		k := keys[i-2]
		g.mu.Lock()
		it, ok := g.items[k.j]
		ok = ok && it.gen == k.gen // not a later incarnation added meanwhile
		if ok {
			delete(g.items, k.j)
		}
		g.mu.Unlock()
		if ok {
			w.r.noteExit(exitNote{child: k.j, gen: it.gen, err: it.c.Err()})
		}
	}
}
