package report_test

import (
	"bytes"
	"testing"

	"github.com/smtpscope/smtpscope/report"
)

// TestJSONRecorded: every recorded session is written as it was when
// encoding/json wrote it, secrets masked or shown.
func TestJSONRecorded(t *testing.T) {
	for _, s := range recordedSessions(t) {
		for _, o := range []report.Options{{}, {ShowSecrets: true}} {
			want, err := report.OldJSON(s, o)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := report.NewJSON(&got, o).Session(s); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("session %d, %+v:\n got %s\nwant %s", s.ID, o, got.Bytes(), want)
			}
		}
	}
}
