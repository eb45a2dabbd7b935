package singleinstance

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// hostile holds the strings a hostile program could run with: line breaks
// that would forge report lines, terminal escape sequences (ESC and the
// one-byte C1 CSI), other control characters, invalid UTF-8 and a
// right-to-left override.
var hostile = []string{
	"line\nforged=1",
	"\x1b[2J\x1b]0;title\x07",
	"\r\x08\x00\x7f",
	"\xc2\x9b2J and a raw \x9b",
	"\xff\xfe",
	"rtl\u202eoverride",
}

// checkTerminalSafe fails if text holds any byte that a terminal acts on
// (C0 controls but the line ends, DEL, C1 controls) or invalid UTF-8, or
// has other than want lines.
func checkTerminalSafe(t *testing.T, text string, want int) {
	t.Helper()
	if !utf8.ValidString(text) {
		t.Errorf("output is not valid UTF-8:\n%q", text)
	}
	for _, r := range text {
		if r != '\n' && (r < 0x20 || r == 0x7f || 0x80 <= r && r < 0xa0 || r == '\u202e') {
			t.Errorf("output holds raw %U:\n%q", r, text)
		}
	}
	if n := strings.Count(text, "\n"); n != want {
		t.Errorf("output has %d lines, want %d:\n%s", n, want, text)
	}
}

// TestReportEscapesHostileText writes the conflict report and the holder
// description for a holder whose every text field is hostile: nothing that
// a terminal would act on gets through, and no line is forged; printable
// Unicode stays as it is.
func TestReportEscapesHostileText(t *testing.T) {
	t.Parallel()
	h := &Holder{
		PID:        4242,
		Started:    time.Now().Add(-time.Minute),
		Executable: "/opt/\x1b[2J/bot\n",
		Argv:       append([]string{"/opt/bot", "ünï ✓ 日本"}, hostile...),
		Cwd:        "/srv/\n\x1b[2J",
		User:       "u\x1b[31m",
		Host:       "h\nx",
		Token:      7,
	}
	o := Observed{Visible: true, Process: &ProcessStats{Status: "sleep\x1b[0m"}}
	var b bytes.Buffer
	writeHolder(&b, h, o, "  ", "")
	out := b.String()
	checkTerminalSafe(t, out, 11)
	for _, want := range []string{`argv=/opt/bot 'ünï ✓ 日本' $'line\nforged=1' $'\x1b[2J\x1b]0;title\x07'`,
		`$'\r\x08\x00\x7f' $'\u009b2J and a raw \x9b' $'\xff\xfe' $'rtl\u202eoverride'`,
		`cwd="/srv/\n\x1b[2J"`, `executable="/opt/\x1b[2J/bot\n"`, `user="u\x1b[31m"`, `host="h\nx"`} {
		if !strings.Contains(out, want) {
			t.Errorf("holder description does not contain %s:\n%s", want, out)
		}
	}

	e := &AlreadyRunningError{Name: "trading_bot", LockPath: "/locks\n\x1b[2J/trading_bot.lock", Holder: h, Observed: o}
	checkTerminalSafe(t, e.Report(), 15)
	e = &AlreadyRunningError{Name: "trading_bot", LockPath: "/locks/trading_bot.lock", HolderErr: &textError{"bad\n\x1b[2J"}}
	checkTerminalSafe(t, e.Report(), 4)
}

type textError struct{ s string }

func (e *textError) Error() string { return e.s }
