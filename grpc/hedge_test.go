package resiliencegrpc

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/hedge"
)

// stalling holds its first UnaryCall until the call is cancelled, and
// answers the others at once, naming the call in the reply.
type stalling struct {
	testpb.UnimplementedTestServiceServer
	calls     atomic.Int32
	cancelled chan struct{}
}

func (s *stalling) UnaryCall(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	n := s.calls.Add(1)
	if n == 1 {
		<-ctx.Done()
		close(s.cancelled)
		return &testpb.SimpleResponse{Username: "stalled"}, ctx.Err()
	}
	return &testpb.SimpleResponse{Username: strconv.Itoa(int(n))}, nil
}

func TestAHedgedCallGetsTheWinnersReply(t *testing.T) {
	svc := &stalling{cancelled: make(chan struct{})}
	addr, _ := serve(t, svc)
	hp, err := hedge.New(hedge.Config{Delay: 10 * time.Millisecond})
	require.NoError(t, err)
	c, err := NewClient(ClientConfig{Pipeline: resilience.Pipeline{Retry: hp}, Idempotent: always})
	require.NoError(t, err)

	reply, err := testpb.NewTestServiceClient(dial(t, addr, c)).UnaryCall(testCtx(t), &testpb.SimpleRequest{})
	require.NoError(t, err)
	assert.Equal(t, "2", reply.GetUsername(), "the hedge answered: its reply is the call's")
	<-svc.cancelled // the stalled attempt was cancelled, and its server side ended
	assert.EqualValues(t, 2, svc.calls.Load())
}

func TestFreshRepliesForNonProtoTypes(t *testing.T) {
	type answer struct{ N int }
	dst := &answer{N: 1}
	src, ok := fresh(dst)
	require.True(t, ok)
	src.(*answer).N = 7
	copyReply(dst, src)
	assert.Equal(t, 7, dst.N)

	_, ok = fresh(answer{})
	assert.False(t, ok, "a value that is not a pointer cannot be decoded into")
}
