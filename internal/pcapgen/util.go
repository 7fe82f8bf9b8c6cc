package pcapgen

import (
	"bytes"
	"compress/gzip"
	"math/rand/v2"
)

// Gzip compresses b.
func Gzip(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	// Writes to a bytes.Buffer cannot fail.
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// Shuffle returns the segments in a random order driven by rng. segs is left
// unchanged.
func Shuffle(rng *rand.Rand, segs []Segment) []Segment {
	out := append([]Segment(nil), segs...)
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// Duplicate returns the segments with, for each one with probability p, an
// identical copy (payload copied too) inserted at a random place after it.
// segs is left unchanged.
func Duplicate(rng *rand.Rand, segs []Segment, p float64) []Segment {
	out := append(make([]Segment, 0, 2*len(segs)), segs...)
	// Going backwards, inserting after i leaves the originals before i where
	// they are.
	for i := len(segs) - 1; i >= 0; i-- {
		if rng.Float64() >= p {
			continue
		}
		dup := segs[i]
		dup.Payload = bytes.Clone(dup.Payload)
		j := i + 1 + rng.IntN(len(out)-i)
		out = append(out, Segment{})
		copy(out[j+1:], out[j:])
		out[j] = dup
	}
	return out
}

// Drop returns the segments without the one at index i. segs is left
// unchanged.
func Drop(segs []Segment, i int) []Segment {
	out := make([]Segment, 0, len(segs)-1)
	out = append(out, segs[:i]...)
	return append(out, segs[i+1:]...)
}
