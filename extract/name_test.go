package extract

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSafeName(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"report.pdf", 200, "report.pdf"},
		{"../../etc/passwd", 200, "_.._etc_passwd"},
		{"..", 200, "unnamed"},
		{".", 200, "unnamed"},
		{"...", 200, "unnamed"},
		{"..hidden", 200, "hidden"},
		{"trailing. . .", 200, "trailing"},
		{"/abs/path", 200, "_abs_path"},
		{"a\\b", 200, "a_b"},
		{"C:\\Windows\\evil.dll", 200, "C_Windows_evil.dll"},
		{"con.txt", 200, "_con.txt"},
		{"CON", 200, "_CON"},
		{"con .txt", 200, "_con .txt"},
		{"Lpt9.doc", 200, "_Lpt9.doc"},
		{"nul", 200, "_nul"},
		{"aux.tar.gz", 200, "_aux.tar.gz"},
		{"PRN", 200, "_PRN"},
		{"com1", 200, "_com1"},
		{"COM¹.txt", 200, "_COM¹.txt"},
		{"conin$", 200, "_conin$"},
		{"console", 200, "console"},
		{"com10", 200, "com10"},
		{"nul_x", 200, "nul_x"},
		{"lpt", 200, "lpt"},
		{"\x1b[31mred\x1b[0m", 200, "_[31mred_[0m"},
		{"report\u202egnp.exe", 200, "report_gnp.exe"},
		{"a\u200fb\ufeffc", 200, "a_b_c"},
		{"a\x00b", 200, "a_b"},
		{"a\tb\r\nc", 200, "a_b_c"},
		{"a\x7fb\u0085c\u009fd", 200, "a_b_c_d"},
		{"a\u2028b", 200, "a_b"},
		{"x\xffy", 200, "x_y"},
		{"   ", 200, "unnamed"},
		{"", 200, "unnamed"},
		{"\x00", 200, "_"},
		{"a<b>c:d\"e|f?g*h", 200, "a_b_c_d_e_f_g_h"},
		{"<>:\"|?*", 200, "_"},
		{"Re: hello   world", 200, "Re_hello world"},
		{"a _ b__c", 200, "a_b_c"},
		{"\u00a0nbsp\u3000x\u00a0", 200, "nbsp x"},
		{"日本語のファイル.txt", 200, "日本語のファイル.txt"},
		// Cut on a rune boundary: 中 is 3 bytes.
		{strings.Repeat("中文", 100), 200, strings.Repeat("中文", 33)}, // 198 bytes
		{"a" + strings.Repeat("中", 100), 200, "a" + strings.Repeat("中", 66)},
		{strings.Repeat("中", 10), 10, "中中中"},
		{strings.Repeat("中", 10), 2, "unnamed"[:2]},
		{"ab. cd", 4, "ab"},
		{"con", 3, "_co"},
		{"", 3, "unn"},
		{"abc", 0, "a"},
	}
	for _, tt := range tests {
		got := SafeName(tt.in, tt.max)
		if got != tt.want {
			t.Errorf("SafeName(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
		if again := SafeName(got, tt.max); again != got {
			t.Errorf("SafeName(%q, %d) = %q, but SafeName of that = %q", tt.in, tt.max, got, again)
		}
		checkSafeName(t, tt.in, tt.max, got)
	}
}

// checkSafeName fails t unless name, what SafeName(in, max) returned, keeps
// every promise SafeName makes.
func checkSafeName(t *testing.T, in string, max int, name string) {
	t.Helper()
	if max < 1 {
		max = 1
	}
	switch {
	case name == "":
		t.Errorf("SafeName(%q, %d) is empty", in, max)
	case name == "." || name == "..":
		t.Errorf("SafeName(%q, %d) = %q", in, max, name)
	case len(name) > max:
		t.Errorf("SafeName(%q, %d) = %q: %d bytes", in, max, name, len(name))
	case !utf8.ValidString(name):
		t.Errorf("SafeName(%q, %d) = %q: invalid UTF-8", in, max, name)
	case strings.Trim(name, ". ") != name:
		t.Errorf("SafeName(%q, %d) = %q: starts or ends with a dot or space", in, max, name)
	case isDeviceName(name):
		t.Errorf("SafeName(%q, %d) = %q: a Windows device name", in, max, name)
	case strings.Contains(name, "__") || strings.Contains(name, "  "):
		t.Errorf("SafeName(%q, %d) = %q: a run not collapsed", in, max, name)
	}
	for _, r := range name {
		if r < 0x20 || r >= 0x7f && r <= 0x9f || strings.ContainsRune(`/\<>:"|?*`, r) ||
			r == 0x200e || r == 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 ||
			r == 0xfeff || r == 0x200b || r == 0x200d || r == 0x2028 || r == 0x2029 {
			t.Errorf("SafeName(%q, %d) = %q: holds %U", in, max, name, r)
		}
	}
}

// isDeviceName is an independent check for the Windows device names SafeName
// must avoid.
func isDeviceName(name string) bool {
	base := strings.ToUpper(strings.TrimRight(strings.SplitN(name, ".", 2)[0], " "))
	switch base {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	for _, p := range []string{"COM", "LPT"} {
		for _, d := range []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³"} {
			if base == p+d {
				return true
			}
		}
	}
	return false
}
