//go:build race

package message

// raceEnabled: the race detector makes sync.Pool drop some of what is put
// back, so allocation counts are not meaningful.
const raceEnabled = true
