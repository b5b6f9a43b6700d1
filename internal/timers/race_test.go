//go:build race

package timers

// raceEnabled: the race detector makes sync.Pool drop a quarter of what
// it is given, on purpose.
const raceEnabled = true
