package lifecycle

import (
	"errors"
	"testing"

	"github.com/llm-research-lab/resilience/actor"
)

// A nil behaviour is a start error naming ErrNilBehavior, as actor.Spawn
// would report it, not an actor that panics on its first message.
func TestSpawnerRefusesANilBehavior(t *testing.T) {
	for name, nb := range map[string]func() actor.Behavior[int]{
		"nil interface": func() actor.Behavior[int] { return nil },
		"nil Func":      func() actor.Behavior[int] { return actor.Func[int](nil) },
	} {
		t.Run(name, func(t *testing.T) {
			c, err := Spawner(actor.Config{Name: "x"}, nb, nil)()
			if err != nil {
				if !errors.Is(err, errNilBehavior) {
					t.Fatal(err)
				}
				return
			}
			err = c.Start(t.Context())
			if err == nil {
				_ = c.Stop(t.Context())
			}
			if !errors.Is(err, errNilBehavior) {
				t.Fatalf("Start = %v, want ErrNilBehavior", err)
			}
		})
	}
}
