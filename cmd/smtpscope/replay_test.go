package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReplayCommand(t *testing.T) {
	in := input("auth-login-nc")
	list, _, code := runCLI(t, nil, "replay", "-r", in)
	if code != 0 || !strings.Contains(list, "   1  127.0.0.1:60920 -> 127.0.0.1:587  EHLO, AUTH LOGIN as whb, 1 message from alice@smtpscope.test to 1 recipient (146 bytes), QUIT") {
		t.Errorf("listing: exit %d\n%s", code, list)
	}
	if _, stderr, code := runCLI(t, nil, "replay", "-r", in, "--session", "9"); code != exitBadInput || !strings.Contains(stderr, "no session 9") {
		t.Errorf("--session 9: exit %d %q", code, stderr)
	}
	src, _, code := runCLI(t, nil, "replay", "-r", in, "--session", "1")
	if code != 0 || !strings.HasPrefix(src, "// This program replays session 1 of capture ") || !strings.Contains(src, "package main") {
		t.Errorf("send program: exit %d\n%.300s", code, src)
	}
	for _, secret := range []string{"czNjcmV0LXBhc3M=", "s3cret-pass"} {
		if strings.Contains(src, secret) {
			t.Errorf("the program holds the secret %q without --embed-secrets", secret)
		}
	}
	fixture, _, code := runCLI(t, nil, "replay", "-r", in, "--session", "1", "--fixture", "--package", "mail_test")
	if code != 0 || !strings.Contains(fixture, "package mail_test") || !strings.Contains(fixture, "func StartCapturedServer(") {
		t.Errorf("fixture: exit %d\n%.300s", code, fixture)
	}
	out := filepath.Join(t.TempDir(), "send.go")
	if _, stderr, code := runCLI(t, nil, "replay", "-r", in, "--session", "1", "--embed-secrets", "-o", out); code != 0 {
		t.Fatalf("-o: exit %d %s", code, stderr)
	}
	b, _ := os.ReadFile(out)
	info, _ := os.Stat(out)
	if !strings.Contains(string(b), "czNjcmV0LXBhc3M=") || !strings.Contains(string(b), "WARNING") || info.Mode().Perm() != 0o600 {
		t.Errorf("--embed-secrets: secret, warning or 0600 mode missing (mode %v)", info.Mode().Perm())
	}
	if _, stderr, code := runCLI(t, nil, "replay"); code != exitBadInput || !strings.Contains(stderr, "Examples:") {
		t.Errorf("no -r: exit %d %q", code, stderr)
	}
}
