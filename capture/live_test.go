//go:build !libpcap

package capture

import (
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestLiveWithoutLibpcap checks what the pure-Go build says about what it
// cannot do: a filter expression, and live capture off Linux.
func TestLiveWithoutLibpcap(t *testing.T) {
	_, err := OpenLive(LiveOptions{Interface: "lo", Filter: "tcp port 25"})
	if err == nil || !strings.Contains(err.Error(), "-tags libpcap") {
		t.Errorf("filter expression without libpcap: %v", err)
	}
	names, err := Interfaces()
	if runtime.GOOS != "linux" {
		if err == nil || !strings.Contains(err.Error(), "-tags libpcap") {
			t.Errorf("Interfaces off Linux: %q, %v", names, err)
		}
		return
	}
	if err != nil || !slices.Contains(names, "any") || !slices.Contains(names, "lo") {
		t.Errorf("Interfaces() = %q, %v; want any and lo among them", names, err)
	}
}
