package actor_test

import "runtime"

func runtimeGoexit() { runtime.Goexit() }

func runtimeGosched() { runtime.Gosched() }
