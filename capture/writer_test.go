package capture

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"
)

// TestWriterRoundTrip writes packets with Writer in both formats and reads
// them back with Reader: data, lengths, link type and nanosecond times come
// back as they were, and the snap length cuts.
func TestWriterRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 1, 2, 3, 456789123, time.UTC)
	in := []Packet{
		{Data: []byte{0x45, 1, 2, 3}, Length: 4, Time: t0},
		{Data: []byte("odd-sized payload"), Length: 1500, Time: t0.Add(time.Millisecond)},
		{Data: bytes.Repeat([]byte{7}, 100), Length: 100, Time: t0.Add(time.Second)},
	}
	for _, ng := range []bool{true, false} {
		var b bytes.Buffer
		w, err := NewWriter(&b, ng, LinkRaw, 64)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range in {
			if err := w.Write(p); err != nil {
				t.Fatal(err)
			}
		}
		w.Flush()
		r, err := NewReader(&b, "written")
		if err != nil {
			t.Fatalf("ng=%v: %v", ng, err)
		}
		for i, want := range in {
			got, err := r.Next()
			if err != nil {
				t.Fatalf("ng=%v packet %d: %v", ng, i, err)
			}
			wantData := want.Data[:min(len(want.Data), 64)]
			if !bytes.Equal(got.Data, wantData) || got.Length != want.Length || !got.Time.Equal(want.Time) || got.LinkType != LinkRaw {
				t.Errorf("ng=%v packet %d: got %d bytes of %d at %v (%v), want %d of %d at %v", ng, i, len(got.Data), got.Length, got.Time, got.LinkType, len(wantData), want.Length, want.Time)
			}
		}
		if _, err := r.Next(); !errors.Is(err, io.EOF) {
			t.Errorf("ng=%v: after the packets: %v", ng, err)
		}
	}
}
