package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/smtpscope/smtpscope/capture"
	"github.com/smtpscope/smtpscope/pipeline"
	"github.com/smtpscope/smtpscope/report"
	"github.com/smtpscope/smtpscope/smtpdecode"
)

// TestStreamGolden feeds recorded captures packet by packet to the
// streaming writer a live capture uses, and checks its output: each turn as
// it completes, the session's end after its last turn.
func TestStreamGolden(t *testing.T) {
	for _, name := range []string{"auth-login-nc", "pipelining", "starttls"} {
		t.Run(name, func(t *testing.T) {
			r, err := capture.Open(input(name))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var out bytes.Buffer
			st := report.NewStream(&out, report.Options{})
			opts := pipeline.Options{
				OnOpen:  func(s *smtpdecode.Session) { st.Open(s) },
				OnEvent: func(s *smtpdecode.Session, e smtpdecode.Event) { st.Event(s, e) },
			}
			opts.Messages.Parse = true
			if _, err := pipeline.Run(context.Background(), r, opts, func(s *smtpdecode.Session) { st.Close(s) }); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "stream-"+name+".txt"), out.String())
		})
	}
}
