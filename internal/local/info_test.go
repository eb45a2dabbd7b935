package local

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/singleinstance/singleinstance/internal/shellword"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// trickyArgv holds arguments that a naive quoting or line format would
// mangle.
var trickyArgv = []string{
	"/usr/bin/prog",
	"",
	"with space",
	"single'quote",
	`double"quote`,
	`back\slash`,
	`trailing\`,
	"new\nline",
	"tab\there",
	"cr\rhere",
	"\xff\xfe invalid UTF-8 \x80",
	"a=b=c",
	"--flag=value",
	"ünïcødé ✓ 日本",
	"'",
	`''`,
	`\`,
	`\\x41`,
	" leading and trailing ",
	"$HOME `id` $(id) ;|&<>*?[]{}~#!",
	"nul\x00byte",
	"del\x7f and \x01\x1f",
}

func sampleHolders(tb testing.TB) map[string]*Record {
	tb.Helper()
	zone := time.FixedZone("", -(3*3600 + 30*60))
	return map[string]*Record{
		"tricky": {
			PID:          4242,
			Started:      time.Date(2024, 2, 29, 23, 59, 58, 123456789, zone),
			AcquiredAt:   time.Date(2024, 3, 1, 3, 30, 0, 1, time.UTC),
			Executable:   "/opt/my app/bin/it's \"quoted\"\\x\n\t\r",
			Argv:         trickyArgv,
			Cwd:          "C:\\Users\\me\\dir with spaces\\a=b\n",
			User:         `DOMAIN\user name`,
			UID:          1000,
			Host:         "host.example\x00\xc3",
			Token:        1709263800000001,
			StartID:      987654321,
			BootID:       "8f0c2d3a-1b2c-4d5e-9f00-aabbccddeeff",
			PIDNamespace: 4026531836,
			LockDevice:   2049,
			LockInode:    131073,
		},
		"minimal": {
			PID: 1,
			UID: -1,
		},
		"extremes": {
			PID:          math.MaxInt32,
			Started:      time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
			AcquiredAt:   time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
			Argv:         []string{""},
			UID:          math.MaxInt32,
			Token:        math.MaxUint64,
			StartID:      math.MaxUint64,
			PIDNamespace: math.MaxUint64,
			LockDevice:   math.MaxUint64,
			LockInode:    math.MaxUint64,
		},
	}
}

// sameStored reports how got differs from want on the fields the .info
// file stores; "" means no difference.
func sameStored(t *testing.T, got, want *Record) string {
	t.Helper()
	var diffs []string
	check := func(field string, ok bool, g, w any) {
		if !ok {
			diffs = append(diffs, field+": got "+quoteAny(g)+", want "+quoteAny(w))
		}
	}
	check("PID", got.PID == want.PID, got.PID, want.PID)
	check("Started", got.Started.Equal(want.Started), got.Started, want.Started)
	check("AcquiredAt", got.AcquiredAt.Equal(want.AcquiredAt), got.AcquiredAt, want.AcquiredAt)
	check("Executable", got.Executable == want.Executable, got.Executable, want.Executable)
	check("Argv", slices.Equal(got.Argv, want.Argv), got.Argv, want.Argv)
	check("Cwd", got.Cwd == want.Cwd, got.Cwd, want.Cwd)
	check("User", got.User == want.User, got.User, want.User)
	check("UID", got.UID == want.UID, got.UID, want.UID)
	check("Host", got.Host == want.Host, got.Host, want.Host)
	check("Token", got.Token == want.Token, got.Token, want.Token)
	check("StartID", got.StartID == want.StartID, got.StartID, want.StartID)
	check("BootID", got.BootID == want.BootID, got.BootID, want.BootID)
	check("PIDNamespace", got.PIDNamespace == want.PIDNamespace, got.PIDNamespace, want.PIDNamespace)
	check("LockDevice", got.LockDevice == want.LockDevice, got.LockDevice, want.LockDevice)
	check("LockInode", got.LockInode == want.LockInode, got.LockInode, want.LockInode)
	return strings.Join(diffs, "; ")
}

func quoteAny(v any) string {
	if t, ok := v.(time.Time); ok {
		return t.Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%#v", v)
}

func TestInfoRoundTrip(t *testing.T) {
	t.Parallel()
	for desc, h := range sampleHolders(t) {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			data := encodeInfo("trading_bot", h)
			t.Logf("encoded:\n%s", data)
			assertLineFormat(t, data)
			got, err := parseInfo(data)
			if err != nil {
				t.Fatalf("parseInfo(encodeInfo(h)) = %v", err)
			}
			if d := sameStored(t, got, h); d != "" {
				t.Errorf("round trip changed the holder: %s", d)
			}
			// Encoding is deterministic, so a second round gives the same bytes.
			if again := encodeInfo("trading_bot", got); !bytes.Equal(again, data) {
				t.Errorf("re-encoding differs:\n%s\nwant:\n%s", again, data)
			}
		})
	}
}

// assertLineFormat checks that data is one key=value line per stored field,
// with no raw control byte inside a line.
func assertLineFormat(t *testing.T, data []byte) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	const fields = 17
	if len(lines) != fields {
		t.Fatalf("encoded info has %d lines, want %d", len(lines), fields)
	}
	if lines[0] != "format="+infoFormat {
		t.Errorf("first line = %q, want %q", lines[0], "format="+infoFormat)
	}
	for _, l := range lines {
		k, _, ok := strings.Cut(l, "=")
		if !ok || !validKey(k) {
			t.Errorf("line %q is not key=value", l)
		}
		if i := strings.IndexFunc(l, func(r rune) bool { return r < 0x20 || r == 0x7f }); i >= 0 {
			t.Errorf("line %q has a raw control byte at %d", l, i)
		}
	}
}

func TestInfoEscapeValue(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain /path", "plain /path"},
		{`a\b`, `a\\b`},
		{"a\nb\tc\rd", `a\nb\tc\rd`},
		{"\x00\x1f\x7f", `\x00\x1f\x7f`},
		{"\xff", `\xff`},
		{"ø✓", "ø✓"},
		{"\ufffd", "\ufffd"}, // a valid U+FFFD stays as it is
		{"\xc3", `\xc3`},     // a truncated sequence is escaped byte by byte
	}
	for _, tt := range tests {
		got := escapeValue(tt.in)
		if got != tt.want {
			t.Errorf("escapeValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
		back, err := unescapeValue(got)
		if err != nil || back != tt.in {
			t.Errorf("unescapeValue(%q) = %q, %v; want %q", got, back, err, tt.in)
		}
	}
}

// replaceLine returns data with the line for key replaced by line (without
// its newline), or removed if line is "".
func replaceLine(t *testing.T, data []byte, key, line string) []byte {
	t.Helper()
	var out []string
	found := false
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if strings.HasPrefix(l, key+"=") {
			found = true
			if line != "" {
				out = append(out, line+"\n")
			}
			continue
		}
		out = append(out, l)
	}
	if !found {
		t.Fatalf("no %q line in %q", key, data)
	}
	return []byte(strings.Join(out, ""))
}

func TestParseInfoStrict(t *testing.T) {
	t.Parallel()
	valid := encodeInfo("trading_bot", sampleHolders(t)["tricky"])
	if _, err := parseInfo(valid); err != nil {
		t.Fatalf("parseInfo(valid) = %v", err)
	}
	tests := []struct {
		desc string
		data []byte
	}{
		{"empty", nil},
		{"only newline", []byte("\n")},
		{"truncated mid-line", valid[:len(valid)-3]},
		{"no final newline", bytes.TrimSuffix(valid, []byte("\n"))},
		{"CRLF line ends", bytes.ReplaceAll(valid, []byte("\n"), []byte("\r\n"))},
		{"line without =", append(slices.Clone(valid), "garbage\n"...)},
		{"blank line", append(slices.Clone(valid), "\n"...)},
		{"upper-case key", replaceLine(t, valid, "pid", "PID=12")},
		{"key with dash", append(slices.Clone(valid), "new-key=1\n"...)},
		{"key with space", append(slices.Clone(valid), "new key=1\n"...)},
		{"empty key", append(slices.Clone(valid), "=1\n"...)},
		{"duplicate key", append(slices.Clone(valid), "pid=12\n"...)},
		{"duplicate unknown key", append(slices.Clone(valid), "extra=1\nextra=2\n"...)},
		{"unknown format", replaceLine(t, valid, "format", "format=singleinstance/2")},
		{"missing format", replaceLine(t, valid, "format", "")},
		{"missing pid", replaceLine(t, valid, "pid", "")},
		{"missing lock_ino", replaceLine(t, valid, "lock_ino", "")},
		{"non-numeric pid", replaceLine(t, valid, "pid", "pid=12a")},
		{"pid with sign", replaceLine(t, valid, "pid", "pid=+12")},
		{"pid zero", replaceLine(t, valid, "pid", "pid=0")},
		{"pid negative", replaceLine(t, valid, "pid", "pid=-5")},
		{"pid too large", replaceLine(t, valid, "pid", "pid=2147483648")},
		{"pid with spaces", replaceLine(t, valid, "pid", "pid= 12")},
		{"non-numeric token", replaceLine(t, valid, "token", "token=abc")},
		{"negative token", replaceLine(t, valid, "token", "token=-1")},
		{"token overflow", replaceLine(t, valid, "token", "token=18446744073709551616")},
		{"non-numeric start_id", replaceLine(t, valid, "start_id", "start_id=0x10")},
		{"empty start_id", replaceLine(t, valid, "start_id", "start_id=")},
		{"non-numeric pid_ns", replaceLine(t, valid, "pid_ns", "pid_ns=ns")},
		{"non-numeric uid", replaceLine(t, valid, "uid", "uid=root")},
		{"uid below -1", replaceLine(t, valid, "uid", "uid=-2")},
		{"bad started", replaceLine(t, valid, "started", "started=yesterday")},
		{"started without zone", replaceLine(t, valid, "started", "started=2024-01-02T03:04:05")},
		{"bad acquired", replaceLine(t, valid, "acquired", "acquired=2024-13-01T00:00:00Z")},
		{"bad escape", replaceLine(t, valid, "cwd", `cwd=\q`)},
		{"dangling backslash", replaceLine(t, valid, "cwd", `cwd=abc\`)},
		{"short hex escape", replaceLine(t, valid, "cwd", `cwd=\x4`)},
		{"bare hex escape", replaceLine(t, valid, "cwd", `cwd=ab\x`)},
		{"bad hex escape", replaceLine(t, valid, "cwd", `cwd=\xzz`)},
		{"signed hex escape", replaceLine(t, valid, "cwd", `cwd=\x+f`)},
		{"raw control byte", replaceLine(t, valid, "cwd", "cwd=a\x01b")},
		{"raw control byte after escape", replaceLine(t, valid, "cwd", "cwd=\\\\a\x01b")},
		{"raw tab", replaceLine(t, valid, "host", "host=a\tb")},
		{"raw CR", replaceLine(t, valid, "host", "host=a\r")},
		{"raw DEL", replaceLine(t, valid, "user", "user=a\x7f")},
		{"unterminated quote in argv", replaceLine(t, valid, "argv", "argv=prog 'abc")},
		{"dangling backslash in argv", replaceLine(t, valid, "argv", `argv=prog \\`)},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			h, err := parseInfo(tt.data)
			if err == nil {
				t.Fatalf("parseInfo(%q) = %+v, nil; want an error", tt.data, h)
			}
			if h != nil {
				t.Errorf("parseInfo(%q) returned a holder with its error %v", tt.data, err)
			}
			if !errors.Is(err, ErrCorruptInfo) {
				t.Errorf("parseInfo(%q) = %v, want an error matching ErrCorruptInfo", tt.data, err)
			}
		})
	}
}

func TestParseInfoTooLarge(t *testing.T) {
	t.Parallel()
	valid := encodeInfo("trading_bot", sampleHolders(t)["tricky"])
	pad := func(total int) []byte {
		t.Helper()
		const key = "padding="
		n := total - len(valid) - len(key) - 1
		if n < 0 {
			t.Fatalf("cannot pad %d bytes to %d", len(valid), total)
		}
		data := slices.Clone(valid)
		data = append(data, key...)
		data = append(data, bytes.Repeat([]byte("p"), n)...)
		data = append(data, '\n')
		if len(data) != total {
			t.Fatalf("padded to %d bytes, want %d", len(data), total)
		}
		return data
	}
	if _, err := parseInfo(pad(MaxInfoSize)); err != nil {
		t.Errorf("parseInfo of exactly MaxInfoSize bytes = %v, want nil", err)
	}
	_, err := parseInfo(pad(MaxInfoSize + 1))
	if !errors.Is(err, ErrInfoTooLarge) {
		t.Errorf("parseInfo of MaxInfoSize+1 bytes = %v, want ErrInfoTooLarge", err)
	}
	// Too large is reported before anything else, even for garbage.
	_, err = parseInfo(bytes.Repeat([]byte{0}, MaxInfoSize+1))
	if !errors.Is(err, ErrInfoTooLarge) {
		t.Errorf("parseInfo of MaxInfoSize+1 NUL bytes = %v, want ErrInfoTooLarge", err)
	}
}

func TestParseInfoAcceptsUnknownKeys(t *testing.T) {
	t.Parallel()
	h := sampleHolders(t)["tricky"]
	data := encodeInfo("trading_bot", h)
	data = append(data, "future_key=some value\\twith escape\nempty=\nx=1=2\n"...)
	got, err := parseInfo(data)
	if err != nil {
		t.Fatalf("parseInfo with unknown keys = %v, want nil", err)
	}
	if d := sameStored(t, got, h); d != "" {
		t.Errorf("unknown keys changed the holder: %s", d)
	}
}

func TestParseInfoOptionalBootID(t *testing.T) {
	t.Parallel()
	h := sampleHolders(t)["tricky"]
	data := replaceLine(t, encodeInfo("trading_bot", h), "boot_id", "")
	got, err := parseInfo(data)
	if err != nil {
		t.Fatalf("parseInfo without boot_id = %v, want nil", err)
	}
	if got.BootID != "" || got.PID != h.PID {
		t.Errorf("parseInfo without boot_id = BootID %q, PID %d; want \"\", %d", got.BootID, got.PID, h.PID)
	}
}

func TestArgvRoundTrip(t *testing.T) {
	t.Parallel()
	tests := [][]string{
		nil,
		{""},
		{"", ""},
		{"prog"},
		{"prog", "-v", "--name=x"},
		trickyArgv,
		{"'", "''", "'''"},
		{" ", "  ", "\t"},
		{"a'b'c", `a\'b`},
	}
	for _, argv := range tests {
		q := quoteArgv(argv)
		got, err := splitArgv(q)
		if err != nil {
			t.Errorf("splitArgv(quoteArgv(%q) = %q) = %v", argv, q, err)
			continue
		}
		if !slices.Equal(got, argv) || len(got) != len(argv) {
			t.Errorf("splitArgv(quoteArgv(%q) = %q) = %q", argv, q, got)
		}
	}
}

func TestShellQuote(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", "''"},
		{"plain", "plain"},
		{"/usr/bin/prog", "/usr/bin/prog"},
		{"--flag=a,b:c@1%+./_-", "--flag=a,b:c@1%+./_-"},
		{"a b", "'a b'"},
		{"it's", `'it'\''s'`},
		{"'", `''\'''`},
		{`say "hi"`, `'say "hi"'`},
		{`back\slash`, `'back\slash'`},
		{"$HOME", "'$HOME'"},
		{"*.go", "'*.go'"},
		{"bøt", "'bøt'"},
		{"new\nline", "'new\nline'"},
	}
	for _, tt := range tests {
		if got := shellword.Quote(tt.in); got != tt.want {
			t.Errorf("shellword.Quote(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplitArgv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"   ", nil},
		{"a b", []string{"a", "b"}},
		{"  a   b  ", []string{"a", "b"}},
		{`a\ b`, []string{"a b"}},
		{`'a b'c`, []string{"a bc"}},
		{`''`, []string{""}},
		{`'' x`, []string{"", "x"}},
		{`'it'\''s'`, []string{"it's"}},
		{`'\n'`, []string{`\n`}}, // no escapes inside single quotes
	}
	for _, tt := range tests {
		got, err := splitArgv(tt.in)
		if err != nil || !slices.Equal(got, tt.want) || len(got) != len(tt.want) {
			t.Errorf("splitArgv(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"'abc", "a 'b", `abc\`, `'a'\`} {
		if got, err := splitArgv(in); err == nil {
			t.Errorf("splitArgv(%q) = %q, nil; want an error", in, got)
		}
	}
}

func TestRecordRoundTrip(t *testing.T) {
	t.Parallel()
	for _, token := range []uint64{0, 1, 42, uint64(time.Now().UnixMicro()), math.MaxUint64} {
		for _, state := range []record{{held: true}, {}, {held: true, replaced: true}, {replaced: true}} {
			r := record{token: token, held: state.held, replaced: state.replaced, ino: token ^ 0x5a5a, name: nameSum("app") + token}
			b := r.bytes()
			if len(b) != recordLen {
				t.Errorf("record%+v.bytes() = %q: %d bytes, want %d", r, b, len(b), recordLen)
			}
			if got := parseRecord(b); got != r {
				t.Errorf("parseRecord(%q) = %+v, want %+v", b, got, r)
			}
			// Bytes past the record (a longer damaged file) do not matter.
			if got := parseRecord(append(b, "trailing junk"...)); got != r {
				t.Errorf("parseRecord(%q + junk) = %+v, want %+v", b, got, r)
			}
		}
	}
	const want = "singleinstance token=00000000000000000042 state=held inode=00000000000000001234 name=0123456789abcdef\n"
	if got := string(record{token: 42, held: true, ino: 1234, name: 0x0123456789abcdef}.bytes()); got != want {
		t.Errorf("record bytes = %q, want %q", got, want)
	}
}

func TestRecordGarbageIsZero(t *testing.T) {
	t.Parallel()
	valid := "singleinstance token=00000000000000000042 state=held inode=00000000000000001234 name=00000000000000ab\n"
	tests := map[string]string{
		"no name":           "singleinstance token=00000000000000000042 state=held inode=00000000000000001234\n",
		"non-hex name":      strings.Replace(valid, "ab\n", "xb\n", 1),
		"old format":        "singleinstance token=00000000000000000042 state=held\n",
		"non-digit inode":   strings.Replace(valid, "1234", "12x4", 1),
		"empty":             "",
		"short":             valid[:recordLen-1],
		"prefix only":       "singleinstance token=",
		"bad state":         strings.Replace(valid, "held", "busy", 1),
		"upper state":       strings.Replace(valid, "held", "HELD", 1),
		"short state":       strings.Replace(valid, "held ", "hel  ", 1),
		"no newline":        strings.Replace(valid, "ab\n", "abX", 1),
		"bad prefix":        strings.Replace(valid, "singleinstance", "singleINSTANCE", 1),
		"non-digit token":   strings.Replace(valid, "00000000000000000042", "0000000000000000004x", 1),
		"negative token":    strings.Replace(valid, "00000000000000000042", "-0000000000000000042", 1),
		"token overflow":    strings.Replace(valid, "00000000000000000042", "99999999999999999999", 1),
		"all zero bytes":    strings.Repeat("\x00", recordLen),
		"all spaces":        strings.Repeat(" ", recordLen),
		"random text":       strings.Repeat("garbage ", recordLen/8+1),
		"other key":         strings.Replace(valid, "token=", "tokan=", 1),
		"missing state key": strings.Replace(valid, "state=", "stat= ", 1),
	}
	for desc, in := range tests {
		if got := parseRecord([]byte(in)); got != (record{}) {
			t.Errorf("%s: parseRecord(%q) = %+v, want the zero record", desc, in, got)
		}
	}
}

func TestNextToken(t *testing.T) {
	t.Parallel()
	before := uint64(time.Now().UnixMicro())
	tok := mustNextToken(t)
	after := uint64(time.Now().UnixMicro())
	if tok < before || tok > after {
		t.Errorf("nextToken() = %d, want between %d and %d (now in microseconds)", tok, before, after)
	}

	future := before + uint64(time.Hour/time.Microsecond)
	tests := [][]uint64{
		{0},
		{0, 1, 2},
		{before},
		{future},
		{1, future, 7},
		{future, future},
		{math.MaxUint64 - 1},
		{5, math.MaxUint64 - 1, future},
	}
	for _, args := range tests {
		now := uint64(time.Now().UnixMicro())
		got := mustNextToken(t, args...)
		for _, a := range args {
			if got <= a {
				t.Errorf("nextToken(%v) = %d, not greater than %d", args, got, a)
			}
		}
		if got < now {
			t.Errorf("nextToken(%v) = %d, less than the current time %d", args, got, now)
		}
	}
	if got := mustNextToken(t, future); got != future+1 {
		t.Errorf("nextToken(%d) = %d, want %d: a token ahead of the clock goes up by one", future, got, future+1)
	}
}

func TestNextTokenMonotonic(t *testing.T) {
	t.Parallel()
	prev := mustNextToken(t)
	for i := range 10000 {
		// Each acquisition passes the last token from the lock record and
		// the .info file; either may have been lost (0).
		var next uint64
		switch i % 3 {
		case 0:
			next = mustNextToken(t, prev, 0)
		case 1:
			next = mustNextToken(t, 0, prev)
		default:
			next = mustNextToken(t, prev, prev)
		}
		if next <= prev {
			t.Fatalf("call %d: nextToken(%d) = %d, not increasing", i, prev, next)
		}
		prev = next
	}
}

func mustNextToken(t *testing.T, last ...uint64) uint64 {
	t.Helper()
	tok, err := nextToken(last...)
	if err != nil {
		t.Fatalf("nextToken(%v): %v", last, err)
	}
	return tok
}

// TestNextTokenNeverWraps checks the top of the range: the last token
// below 2^64-1 gives 2^64-1, and 2^64-1 itself gives an error rather than
// a token that wrapped to a small number or fell back to the clock.
func TestNextTokenNeverWraps(t *testing.T) {
	t.Parallel()
	if got := mustNextToken(t, math.MaxUint64-1); got != math.MaxUint64 {
		t.Errorf("nextToken(MaxUint64-1) = %d, want MaxUint64", got)
	}
	if got := mustNextToken(t, 0, math.MaxUint64-1); got != math.MaxUint64 {
		t.Errorf("nextToken(0, MaxUint64-1) = %d, want MaxUint64", got)
	}
	for _, args := range [][]uint64{{math.MaxUint64}, {0, math.MaxUint64}, {math.MaxUint64, 5}, {math.MaxUint64 - 1, math.MaxUint64}} {
		got, err := nextToken(args...)
		if !errors.Is(err, ErrTokensExhausted) {
			t.Errorf("nextToken(%v) = %d, %v; want ErrTokensExhausted", args, got, err)
		}
	}
}

// TestEncodeInfoBoundary checks the bounds of the .info file's fields at
// their edge: a value whose escaped form is exactly at its bound is kept
// whole, one byte more is cut with a marker, and the file never exceeds
// MaxInfoSize, even with every field at its worst at once.
func TestEncodeInfoBoundary(t *testing.T) {
	t.Parallel()
	roundTrip := func(t *testing.T, h *Record) *Record {
		t.Helper()
		data := encodeInfo("trading_bot", h)
		if len(data) > MaxInfoSize {
			t.Fatalf("encoded .info is %d bytes, more than MaxInfoSize", len(data))
		}
		got, err := parseInfo(data)
		if err != nil {
			t.Fatalf("parseInfo: %v", err)
		}
		if again := encodeInfo("trading_bot", got); !bytes.Equal(again, data) {
			t.Fatalf("encoding what was read changed the file")
		}
		return got
	}

	// argv: one bare argument exactly at the bound, then one byte over.
	exact := strings.Repeat("a", maxArgvEncoded)
	if got := roundTrip(t, &Record{PID: 1, Argv: []string{exact}}); !slices.Equal(got.Argv, []string{exact}) {
		t.Errorf("argv at the bound was changed: %d elements", len(got.Argv))
	}
	got := roundTrip(t, &Record{PID: 1, Argv: []string{"prog", exact}})
	if len(got.Argv) != 3 || got.Argv[0] != "prog" || !strings.HasPrefix(exact, got.Argv[1]) {
		t.Fatalf("argv one byte over the bound: %d elements", len(got.Argv))
	}
	want := fmt.Sprintf("…[truncated: %d more bytes in 1 arg]", len(exact)-len(got.Argv[1]))
	if got.Argv[2] != want {
		t.Errorf("marker = %q, want %q", got.Argv[2], want)
	}

	// cwd: at the bound in escaped bytes (\n takes two), then one over.
	cwd := strings.Repeat("\n", maxPathEncoded/2)
	if got := roundTrip(t, &Record{PID: 1, Cwd: cwd}); got.Cwd != cwd {
		t.Errorf("cwd at the bound was changed")
	}
	got = roundTrip(t, &Record{PID: 1, Cwd: cwd + "x"})
	if p, m, ok := strings.Cut(got.Cwd, TruncatedMarker); !ok || !strings.HasPrefix(cwd, p) || m != fmt.Sprintf("%d more bytes]", len(cwd)+1-len(p)) {
		t.Errorf("cwd one byte over the bound = %q", got.Cwd)
	}

	// Everything at its worst: 1 MiB of control characters in 16
	// arguments, a million empty arguments, quotes and invalid UTF-8.
	var ctl strings.Builder
	for i := range 1 << 16 {
		ctl.WriteByte(byte(1 + i%31))
	}
	worst := []*Record{
		{PID: 1, Argv: slices.Repeat([]string{ctl.String()}, 16)},
		{PID: 1, Argv: make([]string, 1<<20)},
		{PID: 1, Argv: slices.Repeat([]string{strings.Repeat("'", 1<<10)}, 1<<10)},
	}
	for _, h := range worst {
		h.Executable = strings.Repeat("\xff", 1<<20)
		h.Cwd = strings.Repeat("\x1b[2J\n", 1<<18)
		h.User = strings.Repeat("\\", 1<<20)
		h.Host = strings.Repeat("✓", 1<<18)
		h.BootID = strings.Repeat("\x00", 1<<20)
		got := roundTrip(t, h)
		last := got.Argv[len(got.Argv)-1]
		if !strings.HasPrefix(last, TruncatedMarker) {
			t.Errorf("argv of %d elements cut without a marker: last %q", len(h.Argv), last)
		}
		for _, v := range []string{got.Executable, got.Cwd, got.User, got.Host, got.BootID} {
			if !strings.Contains(v, TruncatedMarker) {
				t.Errorf("value cut without a marker: %q", v)
			}
		}
	}
}
