package pcapgen

import (
	"testing"
	"time"
)

func TestNgTime(t *testing.T) {
	tm := time.Unix(1_700_000_000, 123_456_789)
	for _, tc := range []struct {
		ifc  Interface
		want uint64
	}{
		{Interface{}, 1_700_000_000_123_456},
		{Interface{TsResol: 6}, 1_700_000_000_123_456},
		{Interface{TsResol: 9}, 1_700_000_000_123_456_789},
		{Interface{TsResol: 3, TsOffset: 1_000_000_000}, 700_000_000_123},
		{Interface{TsResol: 0}, 1_700_000_000_123_456},
		{Interface{TsResol: 0x80 | 10}, 1_700_000_000<<10 + 123_456_789*1024/1_000_000_000},
		{Interface{TsResol: 0x80}, 1_700_000_000},
	} {
		got, err := ngTime(tm, &tc.ifc)
		if err != nil || got != tc.want {
			t.Errorf("ngTime(%+v) = %d, %v; want %d", tc.ifc, got, err, tc.want)
		}
	}
	for _, ifc := range []Interface{{TsResol: 12}, {TsResol: 19}, {TsResol: 0x80 | 40}, {TsResol: 20}, {TsOffset: 1_800_000_000}} {
		if _, err := ngTime(tm, &ifc); err == nil {
			t.Errorf("ngTime(%+v) did not fail", ifc)
		}
	}
}

func TestChecksum(t *testing.T) {
	// RFC 1071 example.
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got := fold(sum(b, 0)); got != 0xddf2 {
		t.Errorf("sum = %#04x, want 0xddf2", got)
	}
	for n := range 40 {
		b := make([]byte, n)
		var ref uint32
		for i := range b {
			b[i] = byte(0xff - i*13)
			if i%2 == 0 {
				ref += uint32(b[i]) << 8
			} else {
				ref += uint32(b[i])
			}
		}
		for ref > 0xffff {
			ref = ref>>16 + ref&0xffff
		}
		if got := fold(sum(b, 0)); got != uint16(ref) {
			t.Errorf("%d bytes: %#04x, want %#04x", n, got, ref)
		}
	}
}

func BenchmarkSum(b *testing.B) {
	buf := make([]byte, 1460)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	b.SetBytes(int64(len(buf)))
	var x uint64
	for b.Loop() {
		x += sum(buf, 0)
	}
	_ = x
}
