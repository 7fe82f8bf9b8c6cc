package message

import (
	"runtime"
	"testing"
	"time"
)

// TestSpawnReusesIdleWorker checks that a parse goes to a goroutine that finished one before
// (keeping its grown stack) instead of starting a new goroutine.
func TestSpawnReusesIdleWorker(t *testing.T) {
	done := make(chan struct{})
	spawn(func() { done <- struct{}{} })
	<-done
	deadline := time.Now().Add(2 * time.Second)
	for idleWorkers.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no worker went idle after its work")
		}
		time.Sleep(time.Millisecond)
	}
	before := runtime.NumGoroutine()
	during := make(chan int)
	spawn(func() { during <- runtime.NumGoroutine() })
	if n := <-during; n > before {
		t.Errorf("%d goroutines while the second work ran, %d before: a new goroutine was started", n, before)
	}
}
