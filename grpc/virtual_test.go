package resiliencegrpc

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/retry"
)

// These tests call the interceptor with an invoker that answers as a
// server would, so that they run on the virtual clock of a synctest
// bubble (which cannot hold real sockets).

const emptyCall = "/grpc.testing.TestService/EmptyCall"

func TestTheRetryWaitsExactlyTheServersDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st, err := status.New(codes.ResourceExhausted, "later").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(3 * time.Second)})
		require.NoError(t, err)
		var at []time.Duration
		start := time.Now()
		invoke := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
			at = append(at, time.Since(start))
			if len(at) == 1 {
				return st.Err()
			}
			return nil
		}
		rp, err := retry.New(retry.Config{MaxAttempts: 3, InitialDelay: time.Hour})
		require.NoError(t, err)
		c, err := NewClient(ClientConfig{Pipeline: resilience.Pipeline{Retry: rp}, Idempotent: always})
		require.NoError(t, err)

		require.NoError(t, c.Unary(context.Background(), emptyCall, &testpb.Empty{}, &testpb.Empty{}, nil, invoke))
		assert.Equal(t, []time.Duration{0, 3 * time.Second}, at, "the second attempt starts when the server said, not after the hour of backoff")
	})
}

func TestTheCallTimeoutEndsTheRetriesWithDeadlineExceeded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		attempts := 0
		invoke := func(ctx context.Context, _ string, _, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
			attempts++
			<-ctx.Done() // a server that never answers
			return status.FromContextError(ctx.Err()).Err()
		}
		rp, err := retry.New(retry.Config{MaxAttempts: 10, Delay: func(int, error, time.Duration) time.Duration { return time.Second }})
		require.NoError(t, err)
		c, err := NewClient(ClientConfig{Pipeline: resilience.Pipeline{Timeout: 10 * time.Second, Retry: rp, AttemptTimeout: 4 * time.Second}, Idempotent: always})
		require.NoError(t, err)

		start := time.Now()
		err = c.Unary(context.Background(), emptyCall, &testpb.Empty{}, &testpb.Empty{}, nil, invoke)
		assert.Equal(t, codes.DeadlineExceeded, status.Code(err))
		assert.ErrorIs(t, err, resilience.ErrTimeout)
		assert.Equal(t, 2, attempts, "4s, 1s wait, 4s, and the next wait would end past the 10s deadline")
		assert.Equal(t, 9*time.Second, time.Since(start), "retry stops rather than sleep past the call's deadline")
	})
}
