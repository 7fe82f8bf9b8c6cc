package report_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/rivo/uniseg"

	"github.com/smtpscope/smtpscope/report"
	"github.com/smtpscope/smtpscope/smtpdecode"
)

func summaryOf(t *testing.T, so report.SummaryOptions, sessions ...*smtpdecode.Session) []string {
	t.Helper()
	var b bytes.Buffer
	sum := report.NewSummary(&b, report.Options{}, so)
	for _, s := range sessions {
		if err := sum.Session(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := sum.Close(); err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
}

// TestSummaryRecorded: every recorded session gets one line, aligned under the header, within
// the width asked for, with the totals last.
func TestSummaryRecorded(t *testing.T) {
	sessions := recordedSessions(t)
	for _, width := range []int{0, 120, 80} {
		lines := summaryOf(t, report.SummaryOptions{Width: width}, sessions...)
		if len(lines) != len(sessions)+2 {
			t.Fatalf("width %d: %d lines for %d sessions:\n%s", width, len(lines), len(sessions), strings.Join(lines, "\n"))
		}
		header := lines[0]
		if !strings.Contains(header, "UTC") || !strings.Contains(header, "subject") {
			t.Errorf("header %q", header)
		}
		hw := uniseg.StringWidth(header)
		if width > 0 && hw > width {
			t.Errorf("width %d: header is %d wide", width, hw)
		}
		// What was cut had the room there was.
		if width > 0 && strings.Contains(strings.Join(lines, "\n"), "…") && hw != width {
			t.Errorf("width %d: values cut, yet the header is %d wide:\n%s", width, hw, header)
		}
		for i, l := range lines[1 : len(lines)-1] {
			s := sessions[i]
			long := len(s.Client.String()) > 21 || len(s.Server.String()) > 21 // addresses are never cut
			// The last column is not padded: it is the anomalies, right-aligned, unless a
			// narrow width left them out.
			if w := uniseg.StringWidth(l); (w != hw && width != 80 || w > hw) && !long {
				t.Errorf("width %d: line %d is %d wide, header %d:\n%s\n%s", width, i+1, w, hw, header, l)
			}
			if !strings.HasPrefix(strings.TrimLeft(l, " "), fmt.Sprint(s.ID)+" ") {
				t.Errorf("line %d does not start with session %d: %q", i+1, s.ID, l)
			}
		}
		total := lines[len(lines)-1]
		if !strings.HasPrefix(total, fmt.Sprintf("%d sessions over ", len(sessions))) {
			t.Errorf("totals %q", total)
		}
	}
}
