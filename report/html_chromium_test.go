package report

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/smtpscope/smtpscope/smtpdecode"
)

// htmlScreenshot names the PNG file TestHTMLScreenshot writes: the picture
// of the report on the README (go test ./report -run TestHTMLScreenshot
// -html.screenshot=$PWD/docs/html-report.png).
var htmlScreenshot = flag.String("html.screenshot", "", "write a screenshot of an HTML report to this PNG file")

// chromiumPath finds a Chromium or Chrome to run. Without one the test is
// skipped, unless SMTPSCOPE_REQUIRE_CHROMIUM=1 makes that a failure.
func chromiumPath(t *testing.T) string {
	t.Helper()
	names := []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("none of %s on PATH", strings.Join(names, ", "))
	if os.Getenv("SMTPSCOPE_REQUIRE_CHROMIUM") == "1" {
		t.Fatal(msg + ", and SMTPSCOPE_REQUIRE_CHROMIUM=1")
	}
	t.Skip(msg + ": the page is not tried in a browser (SMTPSCOPE_REQUIRE_CHROMIUM=1 makes this a failure)")
	return ""
}

// startChromium starts a headless Chromium for the test and returns its
// context; each tab opened from it is a new page.
func startChromium(t *testing.T, width, height int) context.Context {
	t.Helper()
	path := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", "new"),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.WindowSize(width, height),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", path, err)
	}
	return bctx
}

// browserTab is a page open in Chromium, with what it reported.
type browserTab struct {
	ctx      context.Context
	mu       sync.Mutex
	problems []string // console errors and warnings, exceptions, log errors
	dialogs  []string // alert, confirm, prompt: a script ran
}

// openPage writes html to a file in dir and opens it in a new tab,
// listening from the tab's start for console messages, exceptions and
// dialogs.
func openPage(t *testing.T, browser context.Context, dir, name, html string) *browserTab {
	t.Helper()
	file := filepath.Join(dir, name+".html")
	if err := os.WriteFile(file, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	tab := &browserTab{}
	var cancel context.CancelFunc
	tab.ctx, cancel = chromedp.NewContext(browser, chromedp.WithListener(func(ev any) {
		// This runs in the tab's event loop: note, and run no command here.
		tab.mu.Lock()
		defer tab.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			switch ev.Type {
			case runtime.ConsoleAPICalledTypeError, runtime.ConsoleAPICalledTypeWarning, runtime.ConsoleAPICalledTypeAssert:
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				tab.problems = append(tab.problems, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			text := d.Text
			if d.Exception != nil {
				text += " " + d.Exception.Description
			}
			tab.problems = append(tab.problems, fmt.Sprintf("exception at %d:%d: %s", d.LineNumber+1, d.ColumnNumber+1, text))
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
				tab.problems = append(tab.problems, fmt.Sprintf("log %s (%s): %s", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text))
			}
		case *page.EventJavascriptDialogOpening:
			tab.dialogs = append(tab.dialogs, string(ev.Type)+": "+ev.Message)
			go chromedp.Call(tab.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{})
		}
	}))
	t.Cleanup(cancel)
	if err := chromedp.Do(tab.ctx,
		chromedp.Navigate("file://"+file),
		chromedp.WaitReady(chromedp.CSS("footer")),
	); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return tab
}

// eval evaluates a JavaScript expression in the tab.
func eval[T any](t *testing.T, tab *browserTab, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// do runs actions in the tab, failing if they take over 10 seconds (an
// element that never shows up).
func (tab *browserTab) do(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// check fails on any problem the page reported, and any dialog it opened.
func (tab *browserTab) check(t *testing.T, name string) {
	t.Helper()
	// Let late messages arrive: a round trip to the page.
	eval[int](t, tab, "1")
	tab.mu.Lock()
	defer tab.mu.Unlock()
	for _, p := range tab.problems {
		t.Errorf("%s: %s", name, p)
	}
	for _, d := range tab.dialogs {
		t.Errorf("%s: a script opened a dialog: %s", name, d)
	}
}

// TestHTMLChromium opens the page of every recorded capture in headless
// Chromium: no error, every detail section and ladder there, the script
// ran; then a page of all of them, whose table sorts and filters; then the
// hostile page, which must run nothing and show the markup as text.
func TestHTMLChromium(t *testing.T) {
	browser := startChromium(t, 1280, 900)
	dir := t.TempDir()

	var all []*smtpdecode.Session
	var files []string
	for _, file := range htmlCaptures(t) {
		sessions := htmlDecode(t, file)
		name := htmlCaseName(file)
		for _, s := range sessions {
			s.File = file
		}
		all = append(all, sessions...)
		files = append(files, file)
		tab := openPage(t, browser, dir, name, renderHTML(t, Options{}, HTMLInfo{Files: []string{file}}, sessions...))
		n := len(sessions)
		if got := eval[int](t, tab, `document.querySelectorAll("section.session").length`); got != n {
			t.Errorf("%s: %d detail sections, want %d", name, got, n)
		}
		every := fmt.Sprintf(`Array.from({length: %d}, (_, i) => document.querySelector("#s" + (i + 1) + " svg.ladder")).every(Boolean)`, n)
		if !eval[bool](t, tab, every) || eval[int](t, tab, `document.querySelectorAll("svg.ladder").length`) != n {
			t.Errorf("%s: a session lacks its ladder", name)
		}
		if eval[bool](t, tab, `document.getElementById("tools").hidden`) {
			t.Errorf("%s: the script did not show the filter", name)
		}
		tab.check(t, name)
	}

	// All sessions on one page: sorting and filtering.
	tab := openPage(t, browser, dir, "all", renderHTML(t, Options{}, HTMLInfo{Files: files}, all...))
	if tab.check(t, "all"); t.Failed() {
		return
	}
	col := eval[int](t, tab, `Array.from(document.querySelectorAll("#table thead th")).findIndex(th => th.textContent.trim() === "Size")`)
	if col < 0 {
		t.Fatal("no Size column")
	}
	sizes := fmt.Sprintf(`Array.from(document.querySelectorAll("#table tbody tr")).map(r => +r.cells[%d].dataset.v)`, col)
	before := eval[[]float64](t, tab, sizes)
	if len(before) != len(all) || slices.IsSorted(before) {
		t.Fatalf("sizes before sorting: %v (the test needs them unsorted)", before)
	}
	header := chromedp.CSS(fmt.Sprintf("#table thead th:nth-child(%d) button", col+1))
	for _, order := range []string{"ascending", "descending"} {
		tab.do(t, chromedp.Click(header))
		got := eval[[]float64](t, tab, sizes)
		sorted := slices.Clone(before)
		slices.Sort(sorted)
		if order == "descending" {
			slices.Reverse(sorted)
		}
		if !slices.Equal(got, sorted) {
			t.Errorf("after sorting %s: sizes %v", order, got)
		}
		if aria := eval[string](t, tab, fmt.Sprintf(`document.querySelectorAll("#table thead th")[%d].getAttribute("aria-sort")`, col)); aria != order {
			t.Errorf("aria-sort %q, want %q", aria, order)
		}
	}
	tab.do(t, chromedp.SendKeys(chromedp.ID("filter"), "auth-failed"))
	visible := `Array.from(document.querySelectorAll("#table tbody tr")).filter(r => r.offsetParent !== null)`
	if got := eval[[]string](t, tab, visible+`.map(r => r.textContent)`); len(got) != 1 || !strings.Contains(got[0], "auth-failed") {
		t.Errorf("filtered on auth-failed, rows shown: %q", got)
	}
	if got := eval[string](t, tab, `document.getElementById("shown").textContent`); got != fmt.Sprintf("1 session of %d shown", len(all)) {
		t.Errorf("count shown: %q", got)
	}
	shot, err := chromedp.Run(tab.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "all.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	tab.check(t, "all")

	// The hostile page: nothing runs, the markup shows as text.
	tab = openPage(t, browser, dir, "hostile", renderHTML(t, Options{}, HTMLInfo{Title: htmlHostile, Files: []string{htmlHostile, "b.pcap"}}, hostileSession(htmlHostile)))
	if got := eval[int](t, tab, `document.images.length + document.querySelectorAll("svg svg, [onerror], [onload]").length`); got != 0 {
		t.Errorf("%d elements made from captured text", got)
	}
	if got := eval[int](t, tab, `document.scripts.length`); got != 1 {
		t.Errorf("%d scripts", got)
	}
	subject := eval[string](t, tab, `document.querySelector("dd.subject").innerText`)
	if subject != Printable(htmlHostile) || !strings.Contains(subject, "<script>alert(1)</script>") {
		t.Errorf("subject shows as %q", subject)
	}
	if !eval[bool](t, tab, `document.querySelector("dd.subject").getBoundingClientRect().height > 0`) {
		t.Error("the subject is not visible")
	}
	shot, err = chromedp.Run(tab.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hostile.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	tab.check(t, "hostile")
	t.Logf("pages and screenshots in %s", dir)
}

// TestHTMLScreenshot writes the README's picture of the report, when
// -html.screenshot names the file.
func TestHTMLScreenshot(t *testing.T) {
	if *htmlScreenshot == "" {
		t.Skip("-html.screenshot not given")
	}
	const width = 1280
	browser := startChromium(t, width, 1000)
	var sessions []*smtpdecode.Session
	var files []string
	for _, name := range []string{"auth-failed", "mime-attachments", "rset-multi", "lowercase-barelf", "starttls"} {
		file := "testdata/" + name + "/input.pcap"
		for _, s := range htmlDecode(t, "../"+file) {
			s.File = file
			sessions = append(sessions, s)
		}
		files = append(files, file)
	}
	for i, s := range sessions {
		s.ID = int64(i + 1)
	}
	tab := openPage(t, browser, t.TempDir(), "readme", renderHTML(t, Options{}, HTMLInfo{Files: files}, sessions...))
	// The overview, the table and the first session, to the end of its ladder.
	bottom := eval[float64](t, tab, `document.querySelector("#s1 svg.ladder").getBoundingClientRect().bottom + scrollY`)
	if err := chromedp.Do(tab.ctx, chromedp.EmulateViewport(width, int64(bottom)+12)); err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(tab.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(*htmlScreenshot, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	tab.check(t, "readme")
}
