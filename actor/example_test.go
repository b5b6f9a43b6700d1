package actor_test

import (
	"context"
	"fmt"
	"time"

	"github.com/llm-research-lab/resilience/actor"
)

// account is a behaviour: its state is plain fields, touched only by the
// actor's goroutine.
type account struct{ balance int }

// op is the closed set of messages the account handles.
type op struct {
	deposit int
	balance actor.Reply[int] // set for balance queries
}

func (a *account) Receive(_ *actor.Self[op], m op) {
	a.balance += m.deposit
	m.balance.Send(a.balance)
}

func Example() {
	acct, err := actor.Spawn(actor.Config{Name: "account", Mailbox: 16}, func() actor.Behavior[op] { return &account{} })
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range []int{10, 20, 12} {
		if err := acct.Tell(op{deposit: d}); err != nil {
			fmt.Println(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	balance, err := actor.Ask(ctx, acct, func(r actor.Reply[int]) op { return op{balance: r} })
	fmt.Println("balance:", balance, err)

	err = acct.Stop(ctx)
	fmt.Println("stop:", err, "undelivered:", acct.Undelivered())
	fmt.Println("after stop:", acct.Tell(op{deposit: 1}))

	// Start again: a fresh account from the factory, same handle.
	fmt.Println("restart:", acct.Start(ctx))
	balance, err = actor.Ask(ctx, acct, func(r actor.Reply[int]) op { return op{balance: r} })
	fmt.Println("balance:", balance, err)
	fmt.Println("stop:", acct.Stop(ctx))
	// Output:
	// balance: 42 <nil>
	// stop: <nil> undelivered: 0
	// after stop: resilience: stopped
	// restart: <nil>
	// balance: 0 <nil>
	// stop: <nil>
}
