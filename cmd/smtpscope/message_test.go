package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sentFile is an attachment a recording script sent: its name in the
// message and the copy kept under testdata/<case>/sent/.
type sentFile struct{ name, sent string }

// messageCases says, for each recorded capture of a mail with content worth
// decoding, the subject it must decode to, its part tree, and the
// attachments whose extracted bytes must equal what was sent.
var messageCases = map[string]struct {
	subject string
	parts   []string // "path type filename"
	files   []sentFile
}{
	"mime-attachments": {"smtpscope test mime-attachments",
		[]string{"1 multipart/mixed ", "1.1 text/plain ", "1.2 image/png picture.png", "1.3 text/plain notes.txt"},
		[]sentFile{{"picture.png", "picture.png"}, {"notes.txt", "notes.txt"}}},
	"gb2312-subject":    {"测试邮件：你好", []string{"1 text/plain "}, nil},
	"iso2022jp-subject": {"テストメール", []string{"1 text/plain "}, nil},
	"koi8r-subject":     {"Тестовое письмо", []string{"1 text/plain "}, nil},
	"rfc2231-filename": {"smtpscope test rfc2231-filename",
		[]string{"1 multipart/mixed ", "1.1 text/plain ", "1.2 text/plain 报告€.txt",
			"1.3 text/plain 这是一个非常长的附件文件名用于测试参数续行的编码方式是否被正确解码.txt",
			"1.4 text/plain a-very-long-ascii-file-name-that-does-not-fit-on-one-header-line-at-all-really.txt"},
		[]sentFile{{"报告€.txt", "report-euro.txt"}, {"这是一个非常长的附件文件名用于测试参数续行的编码方式是否被正确解码.txt", "long-chinese-name.txt"},
			{"a-very-long-ascii-file-name-that-does-not-fit-on-one-header-line-at-all-really.txt", "long-ascii-name.txt"}}},
	"leading-dot": {"smtpscope test leading-dot", []string{"1 text/plain "}, nil},
	"hostile-filename": {"smtpscope test hostile-filename",
		[]string{"1 multipart/mixed ", "1.1 text/plain ", "1.2 application/octet-stream ../../etc/passwd", "1.3 text/plain con.txt", "1.4 text/plain \x1b[31mred.txt"},
		[]sentFile{{"../../etc/passwd", "etc-passwd.txt"}, {"con.txt", "con-txt.txt"}, {"\x1b[31mred.txt", "esc-red.txt"}}},
}

type jsonMessageView struct {
	Transactions []struct {
		Message *struct {
			Subject string `json:"subject"`
			Size    int    `json:"size"`
			SHA256  string `json:"sha256"`
			Parts   []struct {
				Path        string `json:"path"`
				ContentType string `json:"content_type"`
				Filename    string `json:"filename"`
				SHA256      string `json:"sha256"`
			} `json:"parts"`
			Attachments []struct {
				Filename string `json:"filename"`
				SHA256   string `json:"sha256"`
			} `json:"attachments"`
			Problems []string `json:"problems"`
		} `json:"message"`
	} `json:"transactions"`
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// TestMessageDecoding checks the subject, part tree and attachment hashes
// that JSON reports for each recorded mail, and that the text shows the
// subject as it was meant.
func TestMessageDecoding(t *testing.T) {
	for name, want := range messageCases {
		t.Run(name, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, nil, "-r", input(name), "--json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var v jsonMessageView
			if err := json.Unmarshal([]byte(stdout), &v); err != nil {
				t.Fatal(err)
			}
			if len(v.Transactions) != 1 || v.Transactions[0].Message == nil {
				t.Fatalf("no parsed message: %s", stdout)
			}
			m := v.Transactions[0].Message
			if m.Subject != want.subject {
				t.Errorf("subject %q, want %q", m.Subject, want.subject)
			}
			var parts []string
			for _, p := range m.Parts {
				parts = append(parts, p.Path+" "+p.ContentType+" "+p.Filename)
			}
			if !slices.Equal(parts, want.parts) {
				t.Errorf("parts\n got %q\nwant %q", parts, want.parts)
			}
			for _, f := range want.files {
				sent, err := os.ReadFile(filepath.Join("../../testdata", name, "sent", f.sent))
				if err != nil {
					t.Fatal(err)
				}
				i := slices.IndexFunc(m.Attachments, func(a struct {
					Filename string `json:"filename"`
					SHA256   string `json:"sha256"`
				}) bool {
					return a.Filename == f.name
				})
				if i < 0 || m.Attachments[i].SHA256 != sha(sent) {
					t.Errorf("attachment %q: %+v, want sha256 %s", f.name, m.Attachments, sha(sent))
				}
			}
			if len(m.Problems) > 0 {
				t.Errorf("problems %q", m.Problems)
			}
			text, _, _ := runCLI(t, nil, "-r", input(name))
			if !strings.Contains(text, "M| Subject: "+want.subject+"\n") {
				t.Errorf("text lacks the subject %q", want.subject)
			}
		})
	}
}

// TestExtract extracts every recorded capture: each attachment comes back
// byte for byte, the .eml equals the message the client gave to its library,
// nothing lands outside the folder, and files are private.
func TestExtract(t *testing.T) {
	for _, name := range cases(t) {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			mbox := filepath.Join(t.TempDir(), "all.mbox")
			_, stderr, code := runCLI(t, nil, "-r", input(name), "--extract", out, "--mbox", mbox)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			files := map[string][]byte{}
			filepath.WalkDir(filepath.Dir(out), func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(out, p)
				if strings.HasPrefix(rel, "..") {
					if !strings.HasSuffix(p, "all.mbox") {
						t.Errorf("%s written outside %s", p, out)
					}
					return nil
				}
				if strings.ContainsFunc(rel, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
					t.Errorf("control character in %q", rel)
				}
				info, _ := d.Info()
				if info.Mode().Perm()&0o077 != 0 {
					t.Errorf("%s is %v: others may read it", rel, info.Mode().Perm())
				}
				b, _ := os.ReadFile(p)
				files[rel] = b
				return nil
			})
			if info, err := os.Stat(out); err != nil || info.Mode().Perm() != 0o700 {
				t.Errorf("folder: %v %v", info.Mode().Perm(), err)
			}
			var emls []string
			for f := range files {
				if strings.HasSuffix(f, ".eml") {
					emls = append(emls, f)
				}
			}
			if name == "starttls" || name == "auth-failed" {
				if len(emls) != 0 {
					t.Errorf("messages extracted from a session without one: %q", emls)
				}
				return
			}
			if len(emls) != 1 {
				t.Fatalf(".eml files %q, want 1", emls)
			}
			// With --extract, the JSON names the message by the hash of its .eml.
			js, _, _ := runCLI(t, nil, "-r", input(name), "--json", "--extract", filepath.Join(t.TempDir(), "again"))
			if want := fmt.Sprintf(`"sha256":"%x","parts"`, sha256.Sum256(files[emls[0]])); !strings.Contains(js, want) {
				t.Errorf("JSON with --extract lacks %s", want)
			}
			// The mbox holds the same message, mboxrd-quoted, LF line ends.
			mb, err := os.ReadFile(mbox)
			if err != nil {
				t.Fatal(err)
			}
			want := strings.ReplaceAll(string(files[emls[0]]), "\r\n", "\n")
			if !strings.HasPrefix(string(mb), "From alice@smtpscope.test ") || !strings.Contains(string(mb), strings.SplitN(want, "\n", 2)[0]+"\n") {
				t.Errorf("mbox does not hold the message:\n%.300s", mb)
			}
			if st, _ := os.Stat(mbox); st.Mode().Perm() != 0o600 {
				t.Errorf("mbox mode %v", st.Mode().Perm())
			}
			if want, err := os.ReadFile(filepath.Join("../../testdata", name, "message.eml")); err == nil && !bytes.Equal(files[emls[0]], want) {
				t.Errorf("%s differs from testdata/%s/message.eml", emls[0], name)
			}
			for _, f := range messageCases[name].files {
				sent, _ := os.ReadFile(filepath.Join("../../testdata", name, "sent", f.sent))
				found := false
				for rel, b := range files {
					found = found || (!strings.HasSuffix(rel, ".eml") && bytes.Equal(b, sent))
				}
				if !found {
					t.Errorf("attachment %q not extracted byte for byte (files: %q)", f.name, keys(files))
				}
			}
		})
	}
}

func keys(m map[string][]byte) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	slices.Sort(k)
	return k
}

// TestExtractTwice: a second extraction into the same folder numbers its
// files instead of overwriting; with --force it overwrites them in place.
func TestExtractTwice(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	count := func() int {
		entries, err := os.ReadDir(out)
		if err != nil {
			t.Fatal(err)
		}
		return len(entries)
	}
	extractTo := func(args ...string) {
		if _, stderr, code := runCLI(t, nil, append([]string{"-r", input("mime-attachments"), "--extract", out}, args...)...); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	}
	extractTo()
	first := count()
	if first != 3 {
		t.Fatalf("%d files, want the .eml and 2 attachments", first)
	}
	// Spoil a file: without --force it must survive untouched.
	entries, _ := os.ReadDir(out)
	victim := filepath.Join(out, entries[0].Name())
	os.WriteFile(victim, []byte("keep me"), 0o600)
	extractTo()
	if n := count(); n != 2*first {
		t.Errorf("%d files after a second run, want %d", n, 2*first)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep me" {
		t.Error("an existing file was overwritten without --force")
	}
	extractTo("--force")
	if n := count(); n != 2*first {
		t.Errorf("%d files after --force, want %d (overwritten in place)", n, 2*first)
	}
	if b, _ := os.ReadFile(victim); string(b) == "keep me" {
		t.Error("--force did not overwrite")
	}
}
