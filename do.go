package resilience

import "context"

// Do calls fn through the policy p and returns fn's value and error, or the
// zero value and p's refusal. The value returned is the one of the attempt
// whose error is returned, so a result classified as bad (say an HTTP 503
// returned with an error) still reaches the caller.
//
// p is any [Policy]: a [*Pipeline], a lone breaker, a retry policy. A nil p
// calls fn directly. A [Gate] runs inline, with no allocation. A panic in
// fn counts as a failure and is re-raised in the caller's goroutine: a
// Gate's done then receives a [*PanicError] that says so, and the panic
// goes on with its own value and stack.
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
// its own so that the value its closure captures is moved to the heap
// here, not on Do's allocation-free Gate path.
func doPolicy[T any](ctx context.Context, p Policy, fn func(context.Context) (T, error)) (T, error) {
	var v T
	switch {
	case fn == nil:
		return v, errNilFunc
	case p == nil:
		return fn(ctx)
	}
	err := p.Run(ctx, func(ctx context.Context) error {
		var err error
		v, err = fn(ctx)
		return err
	})
	return v, err
}
