package retry

// KeptLast is how many of the latest attempts' errors an [Error] keeps,
// besides the first attempt's.
const KeptLast = 8

// errLog records a loop's attempt errors in bounded space: the first
// attempt's and the last [KeptLast].
type errLog struct {
	n     int // errors added
	first error
	ring  [KeptLast]error // attempt k ≥ 2 at index (k-2) % KeptLast
}

// add records the error of the next attempt.
func (l *errLog) add(err error) {
	if l.n == 0 {
		l.first = err
	} else {
		l.ring[(l.n-1)%KeptLast] = err
	}
	l.n++
}

// setLast replaces the latest recorded error. The log must not be empty.
func (l *errLog) setLast(err error) {
	if l.n == 1 {
		l.first = err
	} else {
		l.ring[(l.n-2)%KeptLast] = err
	}
}

// last returns the latest recorded error, or nil.
func (l *errLog) last() error {
	switch l.n {
	case 0:
		return nil
	case 1:
		return l.first
	}
	return l.ring[(l.n-2)%KeptLast]
}

// kept returns the recorded errors in attempt order: the first, then
// attempts max(2, n-KeptLast+1) to n.
func (l *errLog) kept() []error {
	if l.n == 0 {
		return nil
	}
	out := make([]error, 0, min(l.n, KeptLast+1))
	out = append(out, l.first)
	for k := max(2, l.n-KeptLast+1); k <= l.n; k++ {
		out = append(out, l.ring[(k-2)%KeptLast])
	}
	return out
}
