module github.com/smtpscope/smtpscope

go 1.25.0
