package fleet

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// subscribe is the agent's second goroutine: it receives the fleet's
// state changes and installs them. The client reconnects and subscribes
// again after a lost connection; meanwhile each flush reply carries the
// state, so a message lost in between is repaired by the next flush.
func (a *Agent) subscribe(ctx context.Context) {
	defer a.wg.Done()
	ps := a.client.Subscribe(ctx)
	a.mu.Lock()
	if a.stopped {
		a.mu.Unlock()
		_ = ps.Close()
		return
	}
	a.pubsub = ps // Stop closes it, which ends a receive in progress
	a.mu.Unlock()
	retry := time.NewTimer(0)
	defer retry.Stop()
	subscribed := false
	for ctx.Err() == nil {
		if !subscribed {
			subscribed = ps.Subscribe(ctx, a.channel) == nil
		}
		msg, err := ps.ReceiveTimeout(ctx, a.cfg.QuietInterval)
		if err == nil {
			a.receive(msg)
			continue
		}
		if isTimeout(err) {
			continue
		}
		subscribed = false
		retry.Reset(a.cfg.TroubleInterval)
		select {
		case <-ctx.Done():
		case <-retry.C:
		}
	}
}

func isTimeout(err error) bool {
	t, ok := err.(interface{ Timeout() bool })
	return ok && t.Timeout()
}

// receive installs one state change from the channel.
func (a *Agent) receive(msg any) {
	m, ok := msg.(*redis.Message)
	if !ok {
		return
	}
	label, gen, open, until, ok := parseMessage(m.Payload)
	if !ok {
		return
	}
	a.mu.Lock()
	d := a.byLabel[label]
	a.mu.Unlock()
	if d == nil {
		return
	}
	d.mu.Lock()
	br := d.br
	d.mu.Unlock()
	if br == nil {
		return
	}
	a.counts.messages.Add(1)
	local := a.localTime(until)
	if open && !time.Now().Before(local) {
		local = time.Now().Add(a.probeLease())
	}
	br.publish(a, gen, open, false, local, 0)
}
