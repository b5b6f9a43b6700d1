package resiliencehttp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
)

// replay hands each attempt a fresh copy of the request body: from the
// request's GetBody, or from the bytes read once into buf.
type replay struct {
	buf     []byte
	getBody func() (io.ReadCloser, error)
}

// open returns a new reader of the whole body.
func (rp *replay) open() (io.ReadCloser, error) {
	if rp.getBody != nil {
		return rp.getBody()
	}
	return io.NopCloser(bytes.NewReader(rp.buf)), nil
}

// prepared is what a request body becomes before the first attempt.
type prepared struct {
	rp    *replay       // nil when there is nothing to replay
	first io.ReadCloser // the first attempt's body, when it is not r.Body
	why   string        // why the body cannot be sent twice, if so
}

// prepareBody makes r's body sendable on every attempt when it can: a
// request with GetBody replays it, one without has up to limit bytes read
// into memory (a negative limit reads none). A longer body is sent once,
// as it is, and why says so. It closes r.Body when it has replaced it.
func prepareBody(r *http.Request, limit int64) (prepared, error) {
	switch {
	case r.Body == nil || r.Body == http.NoBody:
		return prepared{}, nil
	case r.GetBody != nil:
		return prepared{rp: &replay{getBody: r.GetBody}}, nil
	case limit < 0:
		return prepared{why: "the request body has no GetBody and MaxBodyBuffer is negative"}, nil
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 && r.ContentLength <= limit {
		buf.Grow(int(r.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1))
	if err != nil {
		_ = r.Body.Close()
		return prepared{}, errors.Join(errors.New("resiliencehttp: reading the request body"), err)
	}
	if n <= limit {
		_ = r.Body.Close()
		return prepared{rp: &replay{buf: buf.Bytes()}, first: io.NopCloser(bytes.NewReader(buf.Bytes()))}, nil
	}
	rest := struct {
		io.Reader
		io.Closer
	}{io.MultiReader(&buf, r.Body), r.Body}
	why := "the request body has no GetBody and is longer than MaxBodyBuffer (" + strconv.FormatInt(limit, 10) + " bytes)"
	return prepared{first: rest, why: why}, nil
}

// body is the final response's body. It ends the attempt's context, which
// the Transport made so that the body outlives RoundTrip, at the first of
// EOF, a read error and Close; the context's own deadline still applies.
type body struct {
	rc     io.ReadCloser
	cancel context.CancelFunc
}

// Read reads from the response body.
func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil {
		b.cancel()
	}
	return n, err
}

// Close closes the response body and ends the attempt's context.
func (b *body) Close() error {
	err := b.rc.Close()
	b.cancel()
	return err
}

// settle reads the body of a failed response into memory and closes it,
// when it is at most limit bytes long, so that its connection carries
// other requests while a retry waits; the response then reads from
// memory, in case it turns out to be the last. It reports whether it did.
// A longer or broken body stays open, what was read put back before the
// rest.
func settle(resp *http.Response, limit int64) bool {
	if resp.Body == http.NoBody {
		_ = resp.Body.Close()
		resp.Body = http.NoBody
		return true
	}
	var b bytes.Buffer
	if resp.ContentLength > 0 && resp.ContentLength <= limit {
		b.Grow(int(resp.ContentLength) + 1) // +1: the read that sees EOF
	}
	_, err := b.ReadFrom(io.LimitReader(resp.Body, limit+1))
	buf := b.Bytes()
	if err == nil && int64(len(buf)) <= limit {
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(buf))
		return true
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(buf), resp.Body), resp.Body}
	return false
}

// drainBody reads up to limit bytes of a response body that will not be used
// and closes it, so that its connection can carry the next request.
func drainBody(resp *http.Response, limit int64) {
	if limit > 0 {
		_, _ = io.CopyN(io.Discard, resp.Body, limit)
	}
	_ = resp.Body.Close()
}
