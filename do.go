package resilience

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"unsafe"
)

// Do calls fn through the policy p and returns fn's value and error, or the
// zero value and p's refusal. The value returned is the one of the attempt
// whose error is returned, so a result classified as bad (say an HTTP 503
// returned with an error) still reaches the caller.
//
// p is any [Policy]: a [*Pipeline], a lone breaker, a retry policy, a hedge
// policy. A nil p calls fn directly. A [Gate] runs inline, with no
// allocation. A panic in fn counts as a failure and is re-raised in the
// caller's goroutine: a Gate's done then receives a [*PanicError] that says
// so, and the panic goes on with its own value and stack.
//
// Through a policy that makes several attempts, possibly side by side (a
// hedge policy), Do keeps each attempt's value until p.Run returns (the
// first success's and the last 16 others') and then picks the one to
// return: the first attempt that returned a nil error when Run returns
// nil; otherwise the last attempt whose error Run returned, or wraps
// (errors.Is); failing both, the last attempt to return. Every other
// value, and any value an abandoned attempt returns after Run, is
// discarded: if it has a method Release() and is not the zero value, Do
// calls it, once, so a discarded result that holds a resource (say a
// response whose body must be closed) is freed. Release runs on the
// goroutine that discards the value, the caller's or an attempt's; it
// must not block.
func Do[T any](ctx context.Context, p Policy, fn func(context.Context) (T, error)) (T, error) {
	if g, ok := p.(Gate); ok && fn != nil {
		done, refused := g.Allow(ctx)
		if refused != nil {
			var zero T
			return zero, refused
		}
		return admitted(ctx, done, fn)
	}
	return doPolicy(ctx, p, fn)
}

// admitted runs fn, admitted by a Gate, and reports its result to done. A
// panic (or runtime.Goexit) reports errPanicked and goes on; the check is a
// flag rather than a recover, so the normal path pays for a branch.
func admitted[T any](ctx context.Context, done func(error), fn func(context.Context) (T, error)) (v T, err error) {
	returned := false
	defer func() {
		if !returned {
			done(errPanicked)
		}
	}()
	v, err = fn(ctx)
	returned = true
	done(err)
	return v, err
}

// doPolicy is Do through a Policy that is not a Gate. It is a function of
// its own so that the attempts' record is moved to the heap here, not on
// Do's allocation-free Gate path.
func doPolicy[T any](ctx context.Context, p Policy, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	switch {
	case fn == nil:
		return zero, errNilFunc
	case p == nil:
		return fn(ctx)
	case unsafe.Sizeof(zero) == 0:
		// Every value of T is the zero value: nothing to pick or release.
		err := p.Run(ctx, func(ctx context.Context) error {
			_, err := fn(ctx)
			return err
		})
		return zero, err
	}
	a := &attempts[T]{fn: fn}
	a.kept = a.first[:0]
	err := p.Run(ctx, a.run)
	return a.pick(err), err
}

// keptAttempts is how many attempts' values Do keeps until the policy
// returns, besides the first that returned a nil error: enough for every
// attempt a hedge policy runs side by side; a long retry loop needs only
// its last.
const keptAttempts = 16

// attempts records the values of one Do call's attempts, which a policy
// may run one after another or side by side, until [attempts.pick]
// chooses the one Do returns.
type attempts[T any] struct {
	fn func(context.Context) (T, error)

	mu     sync.Mutex
	kept   []attempt[T] // in the order they returned; see keep
	first  [1]attempt[T]
	picked bool // Do has returned: later values are discarded
}

// attempt is one attempt's result.
type attempt[T any] struct {
	v   T
	err error
}

// run is the function Do hands the policy: one attempt.
func (a *attempts[T]) run(ctx context.Context) error {
	v, err := a.fn(ctx)
	a.keep(v, err)
	return err
}

// keep records an attempt's result, or discards it when Do has already
// returned. Beyond keptAttempts results it drops the oldest, except the
// first with a nil error: kept[0] is always the first nil one, if any.
func (a *attempts[T]) keep(v T, err error) {
	a.mu.Lock()
	if a.picked {
		a.mu.Unlock()
		release(v)
		return
	}
	a.kept = append(a.kept, attempt[T]{v: v, err: err})
	var dropped attempt[T]
	full := len(a.kept) > keptAttempts
	if full {
		i := 0
		if a.kept[0].err == nil {
			i = 1
		}
		dropped = a.kept[i]
		a.kept = append(a.kept[:i], a.kept[i+1:]...)
	}
	a.mu.Unlock()
	if full {
		release(dropped.v)
	}
}

// pick returns the value of the attempt whose error err is, as described
// on [Do], and releases the others.
func (a *attempts[T]) pick(err error) T {
	a.mu.Lock()
	a.picked = true
	kept := a.kept
	a.kept = nil
	a.mu.Unlock()
	var zero T
	if len(kept) == 0 {
		return zero
	}
	i := chosen(kept, err)
	for j := range kept {
		if j != i {
			release(kept[j].v)
		}
	}
	return kept[i].v
}

// chosen is the index in kept of the attempt whose error is err: the first
// with a nil error for a nil err (the first success wins); else the last
// whose error err is or wraps (a retry loop whose attempts all returned
// the same sentinel ends with its last); else the last.
func chosen[T any](kept []attempt[T], err error) int {
	if err == nil {
		for i, k := range kept {
			if k.err == nil {
				return i
			}
		}
		return len(kept) - 1
	}
	for i := len(kept) - 1; i >= 0; i-- {
		if k := kept[i].err; k != nil && errors.Is(err, k) {
			return i
		}
	}
	return len(kept) - 1
}

// releaser is a value that holds a resource to free when it is discarded.
type releaser interface{ Release() }

// release calls v's Release method, if it has one and is not the zero
// value.
func release[T any](v T) {
	r, ok := any(v).(releaser)
	if !ok || reflect.ValueOf(r).IsZero() {
		return
	}
	r.Release()
}
