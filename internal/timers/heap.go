package timers

func (sh *shard) push(c *Call) {
	c.index = int32(len(sh.heap))
	sh.heap = append(sh.heap, slot{when: c.when, c: c})
	sh.up(int(c.index))
}

// remove takes out the call at position i and returns it.
func (sh *shard) remove(i int) *Call {
	h := sh.heap
	last := len(h) - 1
	c := h[i].c
	if i != last {
		h[i] = h[last]
		h[i].c.index = int32(i)
	}
	h[last] = slot{}
	sh.heap = h[:last]
	if i != last {
		sh.down(i)
		sh.up(i)
	}
	c.index = -1
	return c
}

// up and down move a slot by shifting the others into its place and
// writing it once at the end; a slot's deadline is kept inline so the
// comparisons need not visit the calls.
func (sh *shard) up(i int) {
	h := sh.heap
	x := h[i]
	for i > 0 {
		p := (i - 1) / 2
		if h[p].when <= x.when {
			break
		}
		h[i] = h[p]
		h[i].c.index = int32(i)
		i = p
	}
	h[i] = x
	x.c.index = int32(i)
}

func (sh *shard) down(i int) {
	h := sh.heap
	x := h[i]
	for {
		m := 2*i + 1
		if m >= len(h) {
			break
		}
		if r := m + 1; r < len(h) && h[r].when < h[m].when {
			m = r
		}
		if x.when <= h[m].when {
			break
		}
		h[i] = h[m]
		h[i].c.index = int32(i)
		i = m
	}
	h[i] = x
	x.c.index = int32(i)
}
