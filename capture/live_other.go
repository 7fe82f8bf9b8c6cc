//go:build !linux && !libpcap

package capture

import (
	"fmt"
	"runtime"
)

// errNoLive says why this build has no live capture.
var errNoLive = fmt.Errorf("capture: live capture on %s needs a build with -tags libpcap (cgo and libpcap); "+
	"the pure-Go build captures only on Linux (read a file from tcpdump with -r instead)", runtime.GOOS)

// Live is a live capture; this build has none: OpenLive always fails.
type Live struct{}

// OpenLive returns an error: live capture needs Linux or -tags libpcap.
func OpenLive(o LiveOptions) (*Live, error) { return nil, errNoLive }

// Next returns ErrClosed: there is never a capture to read.
func (l *Live) Next() (Packet, error) { return Packet{}, ErrClosed }

// Stats returns the same error as OpenLive.
func (l *Live) Stats() (received, dropped uint64, err error) { return 0, 0, errNoLive }

// Close does nothing.
func (l *Live) Close() error { return nil }

// Interfaces returns the same error as OpenLive: this build cannot capture.
func Interfaces() ([]string, error) { return nil, errNoLive }
