//go:build race

package soak_test

// raceEnabled: the race detector slows every request several times over,
// so the short run bounds each client's requests lower.
const raceEnabled = true
