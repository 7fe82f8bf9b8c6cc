package report_test

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/smtpscope/smtpscope/capture"
	"github.com/smtpscope/smtpscope/pipeline"
	"github.com/smtpscope/smtpscope/report"
	"github.com/smtpscope/smtpscope/smtpdecode"
)

// recordedSessions decodes every recorded capture in testdata, messages
// parsed, as the command does.
func recordedSessions(b testing.TB) []*smtpdecode.Session {
	b.Helper()
	files, _ := filepath.Glob("../testdata/*/input.pcap*")
	var sessions []*smtpdecode.Session
	for _, f := range files {
		r, err := capture.Open(f)
		if err != nil {
			b.Fatal(err)
		}
		_, err = pipeline.Run(context.Background(), r, pipeline.Options{Messages: pipeline.Messages{Parse: true}},
			func(s *smtpdecode.Session) { sessions = append(sessions, s) })
		r.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
	if len(sessions) < 20 {
		b.Fatalf("%d sessions in testdata", len(sessions))
	}
	return sessions
}

// countWriter counts what a report writes.
type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// sessionWriter is what the reports have in common.
type sessionWriter interface {
	Session(*smtpdecode.Session) error
}

// benchmarkReport writes every recorded session with the report newWriter
// makes; bytes are the report's, and sessions/s is reported too.
func benchmarkReport(b *testing.B, newWriter func(io.Writer) sessionWriter) {
	sessions := recordedSessions(b)
	var size countWriter
	w := newWriter(&size)
	for _, s := range sessions {
		w.Session(s)
	}
	b.SetBytes(size.n)
	b.ReportAllocs()
	w = newWriter(io.Discard)
	for b.Loop() {
		for _, s := range sessions {
			if err := w.Session(s); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(sessions))/b.Elapsed().Seconds(), "sessions/s")
}

func BenchmarkJSON(b *testing.B) {
	benchmarkReport(b, func(w io.Writer) sessionWriter { return report.NewJSON(w, report.Options{}) })
}

func BenchmarkText(b *testing.B) {
	benchmarkReport(b, func(w io.Writer) sessionWriter { return report.NewText(w, report.Options{}) })
}
