package retry

// keptLast is how many of the latest attempts' errors an [Error] keeps,
// besides the first attempt's.
const keptLast = 8

// errLog records a loop's attempt errors in bounded space: the first
// attempt's and the last keptLast. errs grows by append up to
// keptLast+1 entries, so a job that failed once holds one, and a loop can
// lend it a stack array.
type errLog struct {
	n    int     // errors added
	errs []error // attempt k at slot(k)
}

// slot is where attempt k's error is: 0 for the first, then a ring.
func slot(k int) int {
	if k == 1 {
		return 0
	}
	return 1 + (k-2)%keptLast
}

// add returns l with the error of the next attempt recorded. It works on
// a copy so that a loop's stack array stays on the stack.
func (l errLog) add(err error) errLog {
	l.n++
	if len(l.errs) < keptLast+1 {
		l.errs = append(l.errs, err)
	} else {
		l.errs[slot(l.n)] = err
	}
	return l
}

// last returns the latest recorded error, or nil.
func (l errLog) last() error {
	if l.n == 0 {
		return nil
	}
	return l.errs[slot(l.n)]
}

// kept returns a copy of the recorded errors in attempt order: the first,
// then attempts max(2, n-keptLast+1) to n.
func (l errLog) kept() []error {
	if l.n == 0 {
		return nil
	}
	out := make([]error, 0, len(l.errs))
	out = append(out, l.errs[0])
	for k := max(2, l.n-keptLast+1); k <= l.n; k++ {
		out = append(out, l.errs[slot(k)])
	}
	return out
}
