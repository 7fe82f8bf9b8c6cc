package message

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand"
	"mime/quotedprintable"
	"strings"
	"testing"
)

// decodeWith runs a decoder over the input cut into pieces and returns what it wrote and the
// problems it reported. Each piece is overwritten after Write, to catch a decoder that keeps it.
func decodeWith(newDec func(io.Writer) bodyDecoder, pieces [][]byte) (string, string) {
	var out bytes.Buffer
	d := newDec(&out)
	var scratch []byte
	for _, p := range pieces {
		scratch = append(scratch[:0], p...)
		d.Write(scratch)
		for i := range scratch {
			scratch[i] = '!'
		}
	}
	probs := fmt.Sprintf("%q", d.finish())
	return out.String(), probs
}

// decoderPair is a decoder and its reference, the decoder as it was before it was made faster.
type decoderPair struct {
	name     string
	dec, ref func(io.Writer) bodyDecoder
}

var decoderPairs = []decoderPair{
	{"base64", func(w io.Writer) bodyDecoder { return &base64Decoder{out: w} }, func(w io.Writer) bodyDecoder { return &refBase64Decoder{out: w} }},
	{"quoted-printable", func(w io.Writer) bodyDecoder { return &qpDecoder{out: w} }, func(w io.Writer) bodyDecoder { return &refQPDecoder{out: w} }},
}

// chunkings cuts an input in the ways the equivalence tests try: whole, every two-piece split of
// a short input, byte by byte and random tiny pieces (up to 8 KiB of input), and random pieces
// of up to 80, 5000 and 40000 bytes.
func chunkings(in []byte, seed int64) map[string][][]byte {
	c := map[string][][]byte{"whole": {in}}
	if len(in) <= 64 {
		for i := 1; i < len(in); i++ {
			c[fmt.Sprintf("split-%d", i)] = [][]byte{in[:i], in[i:]}
		}
	}
	r := rand.New(rand.NewSource(seed))
	if len(in) <= 8<<10 {
		c["1-byte"] = pieces(in, func(int) int { return 1 })
		c["random-3"] = pieces(in, func(int) int { return 1 + r.Intn(3) })
	}
	for _, max := range []int{80, 5000, 40000} {
		c[fmt.Sprintf("random-%d", max)] = pieces(in, func(int) int { return 1 + r.Intn(max) })
	}
	return c
}

// checkEquivalent checks that the decoder gives what its reference gives for the input, in
// every chunking of it.
func checkEquivalent(t *testing.T, pair decoderPair, in []byte, seed int64) {
	t.Helper()
	wantOut, wantProbs := decodeWith(pair.ref, [][]byte{in})
	for name, ps := range chunkings(in, seed) {
		out, probs := decodeWith(pair.dec, ps)
		if out != wantOut || probs != wantProbs {
			t.Errorf("%s %s of %q:\ngot  %q %s\nwant %q %s", pair.name, name, short(in), short([]byte(out)), probs, short([]byte(wantOut)), wantProbs)
			return
		}
	}
}

func short(b []byte) string {
	if len(b) > 200 {
		return fmt.Sprintf("%s...(%d bytes)...%s", b[:100], len(b)-200, b[len(b)-100:])
	}
	return string(b)
}

// base64Seeds are malformed and unusual base64 bodies.
var base64Seeds = []string{
	"",
	"QUJD",
	"QUJDRA==",
	"QUJDREU=",
	"QUJDRA==\r\n",
	"QUJDRA=\r\n=\r\n",
	"QUJDRA= =",
	"QUJDRA===",
	"QUJDRA==QUJD",
	"QUJDRA==\r\nQUJD\r\n",
	"QUJDREU=A",
	"QUJDREU= \r\n\t",
	"QUJD=",
	"QUJDR=",
	"QUJDRA",
	"QUJDREU",
	"QUJDR",
	"====QUJD",
	"Q===",
	"QUJD REVG\r\nR0g=\r\n",
	"QUJD\tREVG\r\n  R0hJ\r\n",
	"QUJD \r\nREVG \r\n",
	"QUJD\rREVG\rR0hJ",
	"QUJD\nREVG\nR0hJ\n",
	"QU\r\nJD\r\nRE\r\nVG\r\n",
	"QUJD!REVG",
	"QUJDREVG-_",
	"QUJDRE\xffVG",
	"QUJDREVG\x00",
	"QUJDREVGR0hJ\r\n.\r\n",
	"QUJ\r\nDRA\r\n==",
	"QUJDRA=\r\n",
	"QUJDRA=\r",
	"QUJDREU=\r\r\r\rX",
	"QUJDREU=\r\r\r\r",
	"QUJDQ=",
	"QUJDQ",
	"=",
	"\r\n\r\n",
	"    ",
}

// qpSeeds are malformed and unusual quoted-printable bodies.
var qpSeeds = []string{
	"",
	"plain text\r\nsecond line\r\n",
	"a=3Db =\r\nc  \r\nd=\ne=4\r\n=zz=4x =  \r\nend  \r\n=",
	"soft=\r\nbreak=\nlf=  \r\nws=\t\nend=",
	"caf=c3=a9 CAF=C3=A9 mixed=C3=a9",
	"bad=ZZ=4=\r=G0=0G=",
	"=4",
	"=",
	"= ",
	"= x",
	"=  x=  \r\n",
	"=\r",
	"=\rx",
	"=\r\r\n",
	"trailing   \r\ntabs\t\t\nend \t ",
	"cr alone\rx\r\ry \r",
	"ws then cr  \rx",
	"ws then cr at end  \r",
	"bare\nlf\n\nlines\n",
	"=\r\n=\r\n=\r\n",
	"=20\r\n=20=\r\n",
	"a = b\r\n",
	"a =b\r\n",
	"\x00\x01\xff=FF\x7f",
	"=3D=3d=3",
	strings.Repeat(" ", 1500) + "x" + strings.Repeat(" ", 1500) + "\r\n",
	strings.Repeat(" ", 1024) + "\r\n" + strings.Repeat("\t", 1025) + "\n" + strings.Repeat(" ", 2048) + "y",
	"=" + strings.Repeat(" ", 1500) + "x\r\n",
	"=" + strings.Repeat(" ", 1500) + "\r\n",
	"=" + strings.Repeat(" ", 1000) + "=41\r\n",
	strings.Repeat("long line without breaks ", 2000),
	strings.Repeat("=41", 5000),
}

// TestDecodersMatchReference compares the decoders with their reference on malformed and unusual
// input, on random mutations of valid input, and on large input with errors past the first block.
func TestDecodersMatchReference(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	b64 := decoderPairs[0]
	for i, s := range base64Seeds {
		checkEquivalent(t, b64, []byte(s), int64(i))
	}
	qp := decoderPairs[1]
	for i, s := range qpSeeds {
		checkEquivalent(t, qp, []byte(s), int64(i))
	}
	for i := range 300 {
		checkEquivalent(t, b64, mutate(r, validBase64(r, 1+r.Intn(3000)), "=\r\n \t!-\xff=AQz"), int64(i))
		checkEquivalent(t, qp, mutate(r, validQP(r, 1+r.Intn(3000)), "=\r\n \t=AfF3z\x00"), int64(i))
	}
	// Large bodies: blocks of the base64 decoder are 16 KiB; a fault may sit anywhere.
	for i, at := range []int{0, 1, base64Block - 1, base64Block, base64Block + 1, 3*base64Block + 7, 70000, 99999} {
		body := validBase64(r, 75000)
		for _, fault := range []string{"!", " ", "=", "==", "\r", "\n\n", "A"} {
			in := append(append(append([]byte(nil), body[:min(at, len(body))]...), fault...), body[min(at, len(body)):]...)
			checkEquivalent(t, b64, in, int64(i))
		}
		qbody := validQP(r, 75000)
		for _, fault := range []string{"=", "=Z", " \r", "  ", "=\r", "\r"} {
			in := append(append(append([]byte(nil), qbody[:min(at, len(qbody))]...), fault...), qbody[min(at, len(qbody)):]...)
			checkEquivalent(t, qp, in, int64(i))
		}
	}
}

// validBase64 encodes n random bytes as base64 in lines of a random length (not always a multiple
// of 4), with CRLF or LF line ends, or in one line.
func validBase64(r *rand.Rand, n int) []byte {
	data := make([]byte, n)
	r.Read(data)
	enc := base64.StdEncoding.EncodeToString(data)
	lineLen := []int{76, 72, 64, 60, 77, 1, 3, 1 << 30}[r.Intn(8)]
	eol := []string{"\r\n", "\n"}[r.Intn(2)]
	var b strings.Builder
	for len(enc) > lineLen {
		b.WriteString(enc[:lineLen] + eol)
		enc = enc[lineLen:]
	}
	b.WriteString(enc)
	if r.Intn(2) == 0 {
		b.WriteString(eol)
	}
	return []byte(b.String())
}

// validQP encodes n bytes of random text (words, accented letters, '=', trailing spaces, CRLF
// or LF line ends, sometimes binary) as quoted-printable.
func validQP(r *rand.Rand, n int) []byte {
	parts := []string{"word", " ", "  ", "\t", "café", "=", "€", "\r\n", "\n", " \r\n", "<p style=\"x\">", "\x00", "\xff"}
	var text []byte
	for len(text) < n {
		text = append(text, parts[r.Intn(len(parts))]...)
	}
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	w.Binary = r.Intn(4) == 0
	w.Write(text)
	w.Close()
	return b.Bytes()
}

// mutate changes up to 4 bytes of b: a byte of alphabet inserted, or put in place of one.
func mutate(r *rand.Rand, b []byte, alphabet string) []byte {
	b = append([]byte(nil), b...)
	for range r.Intn(5) {
		c := alphabet[r.Intn(len(alphabet))]
		i := r.Intn(len(b) + 1)
		if r.Intn(2) == 0 || i == len(b) {
			b = append(b[:i], append([]byte{c}, b[i:]...)...)
		} else {
			b[i] = c
		}
	}
	return b
}

// TestDecodersValid checks the decoders against encoding/base64 and mime/quotedprintable on the
// whole input, for valid input in random pieces.
func TestDecodersValid(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for i := range 100 {
		in := validBase64(r, r.Intn([]int{100, 5000, 70000}[i%3]))
		want, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(in)))
		if err != nil {
			t.Fatal(err)
		}
		for name, ps := range chunkings(in, int64(i)) {
			out, probs := decodeWith(decoderPairs[0].dec, ps)
			if out != string(want) || probs != "[]" {
				t.Fatalf("base64 %s of %q: %q %s, want %q", name, short(in), short([]byte(out)), probs, short(want))
			}
		}

		in = validQP(r, r.Intn([]int{100, 5000, 70000}[i%3]))
		want, err = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(in)))
		if err != nil {
			t.Fatal(err)
		}
		for name, ps := range chunkings(in, int64(i)) {
			out, probs := decodeWith(decoderPairs[1].dec, ps)
			if out != string(want) || probs != "[]" {
				t.Fatalf("quoted-printable %s of %q: %q %s, want %q", name, short(in), short([]byte(out)), probs, short(want))
			}
		}
	}
}

// TestDecodersNoAlloc checks that the decoders stream in bounded memory: once warm, writing
// more (long lines, long runs of spaces, faults) allocates nothing.
func TestDecodersNoAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops buffers under the race detector")
	}
	r := rand.New(rand.NewSource(3))
	inputs := map[string][]byte{
		"base64":           validBase64(r, 100<<10),
		"quoted-printable": append(validQP(r, 100<<10), strings.Repeat(" ", 3000)+"=ZZ"+strings.Repeat("=41", 3000)+strings.Repeat("x", 20000)+"\r\n"...),
	}
	for _, pair := range decoderPairs {
		in := inputs[pair.name]
		d := pair.dec(io.Discard)
		ps := pieces(in[:len(in)/4*4], func(int) int { return 32 << 10 })
		allocs := testing.AllocsPerRun(20, func() {
			for _, p := range ps {
				d.Write(p)
			}
		})
		if allocs > 0 {
			t.Errorf("%s: %v allocations per %d bytes", pair.name, allocs, len(in))
		}
		d.finish()
	}
}

// FuzzDecoders compares the decoders with their reference on arbitrary input in random pieces.
func FuzzDecoders(f *testing.F) {
	for _, s := range base64Seeds {
		f.Add([]byte(s), int64(0), false)
	}
	for _, s := range qpSeeds {
		f.Add([]byte(s), int64(1), true)
	}
	f.Fuzz(func(t *testing.T, in []byte, seed int64, qp bool) {
		pair := decoderPairs[0]
		if qp {
			pair = decoderPairs[1]
		}
		wantOut, wantProbs := decodeWith(pair.ref, [][]byte{in})
		r := rand.New(rand.NewSource(seed))
		max := 1 + r.Intn(1+r.Intn(len(in)+1))
		out, probs := decodeWith(pair.dec, pieces(in, func(int) int { return 1 + r.Intn(max) }))
		if out != wantOut || probs != wantProbs {
			t.Errorf("%s of %q:\ngot  %q %s\nwant %q %s", pair.name, short(in), short([]byte(out)), probs, short([]byte(wantOut)), wantProbs)
		}
	})
}
