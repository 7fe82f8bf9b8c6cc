package report

import "github.com/smtpscope/smtpscope/smtpdecode"

// sessionFacts are the figures the one-line views of a session give (the summary's line, the
// HTML table's row and the overviews' totals), counted in one pass over its transactions.
type sessionFacts struct {
	failed    bool // see Failed
	anomalies int  // see anomalyCount

	// Transactions by outcome; rejectCode is the code of the first rejected one that has one.
	accepted, rejected, aborted, unfinished int
	rejectCode                              int
	rcptOK, rcptRefused                     int   // recipients answered 2xx, and 4xx or 5xx
	size                                    int64 // message bytes of all transactions
	messages                                int   // transactions that sent content

	mailFrom string // the first transaction's MAIL FROM (valid when there is one)
	subject  string // the first non-empty subject of a parsed message
	subjects int    // parsed messages with a non-empty subject

	authFailed bool // AUTH was answered and refused
}

// factsOf counts a session's facts.
func factsOf(s *smtpdecode.Session) sessionFacts {
	f := sessionFacts{failed: Failed(s), anomalies: anomalyCount(s)}
	for i := range s.Transactions {
		tx := &s.Transactions[i]
		switch tx.Outcome {
		case smtpdecode.OutcomeAccepted:
			f.accepted++
		case smtpdecode.OutcomeRejected:
			f.rejected++
			if f.rejectCode == 0 {
				f.rejectCode = rejectCode(tx)
			}
		case smtpdecode.OutcomeAborted:
			f.aborted++
		case smtpdecode.OutcomeUnfinished:
			f.unfinished++
		}
		for _, r := range tx.Rcpts {
			switch {
			case r.Code >= 200 && r.Code < 300:
				f.rcptOK++
			case r.Code >= 400:
				f.rcptRefused++
			}
		}
		f.size += tx.MessageBytes
		if tx.MessageBytes > 0 || tx.Message != nil {
			f.messages++
		}
		if i == 0 {
			f.mailFrom = tx.MailFrom
		}
		if pm := parsedMessage(tx.Message); pm != nil && pm.Header.Subject != "" {
			if f.subjects == 0 {
				f.subject = pm.Header.Subject
			}
			f.subjects++
		}
	}
	if a := s.Auth; a != nil {
		f.authFailed = !a.Cancelled && !a.Success && a.Code != 0
	}
	return f
}
