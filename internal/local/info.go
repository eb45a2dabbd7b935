package local

import (
	"errors"
	"fmt"
	"github.com/singleinstance/singleinstance/internal/shellword"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxInfoSize bounds the .info and .pid files this package reads. It
// never writes a larger one, whatever the holder's command line and
// working directory (see Holder.Argv); anything larger is reported as
// ErrInfoTooLarge unread.
const MaxInfoSize = 64 << 10

// Bounds on the escaped form of the variable-length fields of a .info
// file. With the fixed fields (about 1 KiB at most) they add up to less
// than MaxInfoSize, so that every file a holder writes can be read back.
const (
	maxArgvEncoded   = 48 << 10 // argv, all arguments together
	maxPathEncoded   = 4 << 10  // executable, cwd
	maxNameEncoded   = 1 << 10  // the lock name (already bounded by ValidateName)
	maxShortEncoded  = 256      // user, host
	maxBootIDEncoded = 128      // boot_id (a UUID, 36 bytes)
)

// TruncatedMarker starts the marker that takes the place of what a .info
// file could not hold: the last element of Holder.Argv, "…[truncated: N
// more bytes in M args]", or the end of a string field, "…[truncated: N
// more bytes]".
const TruncatedMarker = "…[truncated: "

// infoFormat is the first line of every .info file.
const infoFormat = "singleinstance/1"

// A Record is what a holder wrote about itself in the .info file. The
// root package's Holder has the same fields, and documents them.
type Record struct {
	PID          int
	Started      time.Time
	AcquiredAt   time.Time
	Executable   string
	Argv         []string
	Cwd          string
	User         string
	UID          int
	Host         string
	Token        uint64
	StartID      uint64
	BootID       string
	PIDNamespace uint64
	OwnerPID     int // the wrapper that started the holder, if any
	OwnerStartID uint64
	LockDevice   uint64 // the lock file the holder locked
	LockInode    uint64
}

// encodeInfo renders h as the .info file: "key=value" lines, values escaped
// so that any byte string survives a round trip. Fields too long for the
// file are cut with a marker (see boundForInfo): the result is never
// larger than MaxInfoSize, so whatever a holder writes, readers can read.
func encodeInfo(name string, h *Record) []byte {
	h = boundForInfo(h)
	name = truncateValue(name, maxNameEncoded)
	argvLen := len(h.Argv)
	for _, a := range h.Argv {
		argvLen += len(a) + 2
	}
	e := infoEncoder{b: make([]byte, 0, 512+len(name)+len(h.Executable)+len(h.Cwd)+argvLen)}
	e.str("format", infoFormat)
	e.str("name", name)
	e.int("pid", int64(h.PID))
	e.time("started", h.Started)
	e.time("acquired", h.AcquiredAt)
	e.str("executable", h.Executable)
	e.argv("argv", h.Argv)
	e.str("cwd", h.Cwd)
	e.str("user", h.User)
	e.int("uid", int64(h.UID))
	e.str("host", h.Host)
	e.uint("token", h.Token)
	e.uint("start_id", h.StartID)
	e.str("boot_id", h.BootID)
	e.uint("pid_ns", h.PIDNamespace)
	if h.OwnerPID != 0 {
		e.int("owner_pid", int64(h.OwnerPID))
		e.uint("owner_start_id", h.OwnerStartID)
	}
	e.uint("lock_dev", h.LockDevice)
	e.uint("lock_ino", h.LockInode)
	return e.b
}

// An infoEncoder appends "key=value" lines to b. Numbers and times are
// written as they are: their text never needs escaping.
type infoEncoder struct{ b []byte }

func (e *infoEncoder) key(k string) { e.b = append(append(e.b, k...), '=') }

func (e *infoEncoder) str(k, v string) {
	e.key(k)
	e.b = append(appendEscaped(e.b, v), '\n')
}

func (e *infoEncoder) int(k string, v int64) {
	e.key(k)
	e.b = append(strconv.AppendInt(e.b, v, 10), '\n')
}

func (e *infoEncoder) uint(k string, v uint64) {
	e.key(k)
	e.b = append(strconv.AppendUint(e.b, v, 10), '\n')
}

func (e *infoEncoder) time(k string, v time.Time) {
	e.key(k)
	e.b = append(v.AppendFormat(e.b, time.RFC3339Nano), '\n')
}

// argv writes the escaped form of quoteArgv(argv). Escaping works
// character by character and quoting adds only ASCII around and between
// characters, so each word is quoted and escaped in one pass.
func (e *infoEncoder) argv(k string, argv []string) {
	e.key(k)
	for i, a := range argv {
		if i > 0 {
			e.b = append(e.b, ' ')
		}
		if shellword.Bare(a) {
			e.b = append(e.b, a...) // nothing in a bare word needs escaping
			continue
		}
		e.b = append(e.b, '\'')
		for {
			q := strings.IndexByte(a, '\'')
			if q < 0 {
				break
			}
			e.b = append(appendEscaped(e.b, a[:q]), `'\\''`...) // '\'' escaped
			a = a[q+1:]
		}
		e.b = append(appendEscaped(e.b, a), '\'')
	}
	e.b = append(e.b, '\n')
}

// parseInfo parses a .info file strictly: every line is key=value with a
// known escape syntax, no key appears twice, and the identifying keys are
// present and numeric. Unknown keys are ignored, for newer writers.
func parseInfo(data []byte) (*Record, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrCorruptInfo, fmt.Sprintf(format, args...))
	}
	if len(data) > MaxInfoSize {
		return nil, ErrInfoTooLarge
	}
	if len(data) == 0 {
		return nil, bad("empty")
	}
	if data[len(data)-1] != '\n' {
		return nil, bad("truncated: no final newline")
	}
	fields := make(map[string]string)
	for n, line := range strings.Split(string(data[:len(data)-1]), "\n") {
		k, raw, ok := strings.Cut(line, "=")
		if !ok || !validKey(k) {
			return nil, bad("line %d is not key=value", n+1)
		}
		if _, dup := fields[k]; dup {
			return nil, bad("key %q appears twice", k)
		}
		v, err := unescapeValue(raw)
		if err != nil {
			return nil, bad("line %d: %v", n+1, err)
		}
		fields[k] = v
	}
	if fields["format"] != infoFormat {
		return nil, bad("unknown format %q", fields["format"])
	}
	h := &Record{
		Executable: fields["executable"],
		Cwd:        fields["cwd"],
		User:       fields["user"],
		Host:       fields["host"],
		BootID:     fields["boot_id"],
	}
	var err error
	num := func(key string, bits int) uint64 {
		if err != nil {
			return 0
		}
		var v uint64
		v, err = strconv.ParseUint(fields[key], 10, bits)
		if err != nil {
			err = bad("%s: %q is not a number", key, fields[key])
		}
		return v
	}
	when := func(key string) time.Time {
		if err != nil {
			return time.Time{}
		}
		var t time.Time
		t, err = time.Parse(time.RFC3339Nano, fields[key])
		if err != nil {
			err = bad("%s: %q is not a time", key, fields[key])
		}
		return t
	}
	h.PID = int(num("pid", 31))
	h.Token = num("token", 64)
	h.StartID = num("start_id", 64)
	h.PIDNamespace = num("pid_ns", 64)
	h.LockDevice = num("lock_dev", 64)
	h.LockInode = num("lock_ino", 64)
	if _, ok := fields["owner_pid"]; ok {
		h.OwnerPID = int(num("owner_pid", 31))
		h.OwnerStartID = num("owner_start_id", 64)
	}
	h.Started = when("started")
	h.AcquiredAt = when("acquired")
	if err != nil {
		return nil, err
	}
	if h.PID <= 0 {
		return nil, bad("pid %d", h.PID)
	}
	if uid, e := strconv.Atoi(fields["uid"]); e == nil && uid >= -1 {
		h.UID = uid
	} else {
		return nil, bad("uid: %q is not a number", fields["uid"])
	}
	if h.Argv, err = splitArgv(fields["argv"]); err != nil {
		return nil, bad("argv: %v", err)
	}
	return h, nil
}

func validKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; !('a' <= c && c <= 'z' || c == '_') {
			return false
		}
	}
	return true
}

// escapeValue escapes backslashes, control bytes and invalid UTF-8 so that a
// value fits on one line.
func escapeValue(s string) string { return string(appendEscaped(nil, s)) }

// appendEscaped appends escapeValue(s) to b.
func appendEscaped(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); {
		if c := s[i]; c >= 0x20 && c < 0x7f && c != '\\' {
			b = append(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\\':
			b = append(b, `\\`...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == utf8.RuneError && size == 1, r < 0x20, r == 0x7f:
			b = append(b, '\\', 'x', hex[s[i]>>4], hex[s[i]&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}

func unescapeValue(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return "", errors.New("raw control byte")
		}
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			return "", errors.New("raw control byte")
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			return "", errors.New("dangling backslash")
		}
		switch s[i] {
		case '\\':
			b.WriteByte('\\')
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'x':
			if i+2 >= len(s) {
				return "", errors.New("short \\x escape")
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return "", errors.New("bad \\x escape")
			}
			b.WriteByte(byte(v))
			i += 2
		default:
			return "", fmt.Errorf("unknown escape \\%c", s[i])
		}
	}
	return b.String(), nil
}

// quoteArgv renders argv as words a POSIX shell would split back into the
// same arguments: plain words stay bare, others go in single quotes.
func quoteArgv(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		words[i] = shellword.Quote(a)
	}
	return strings.Join(words, " ")
}

// splitArgv reverses quoteArgv. It accepts bare words, single-quoted
// strings and backslash-escaped characters outside quotes.
func splitArgv(s string) ([]string, error) {
	var argv []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ':
			if inWord {
				argv = append(argv, cur.String())
				cur.Reset()
				inWord = false
			}
		case '\'':
			inWord = true
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("unterminated quote")
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
		case '\\':
			if i+1 >= len(s) {
				return nil, errors.New("dangling backslash")
			}
			inWord = true
			cur.WriteByte(s[i+1])
			i++
		default:
			inWord = true
			cur.WriteByte(c)
		}
	}
	if inWord {
		argv = append(argv, cur.String())
	}
	return argv, nil
}

// boundForInfo returns h, or a copy of it with the variable-length fields
// cut (see truncateValue and truncateArgv) so that the .info file stays
// within MaxInfoSize. Applied to its own result it changes nothing.
func boundForInfo(h *Record) *Record {
	b := *h
	b.Executable = truncateValue(h.Executable, maxPathEncoded)
	b.Cwd = truncateValue(h.Cwd, maxPathEncoded)
	b.User = truncateValue(h.User, maxShortEncoded)
	b.Host = truncateValue(h.Host, maxShortEncoded)
	b.BootID = truncateValue(h.BootID, maxBootIDEncoded)
	b.Argv = truncateArgv(h.Argv, maxArgvEncoded)
	return &b
}

// escapedLen is len(escapeValue(s)), without building it.
func escapedLen(s string) int {
	n := 0
	for i := 0; i < len(s); {
		c, size := escapedRune(s[i:])
		n += c
		i += size
	}
	return n
}

// The most a byte of a value can cost in the .info file: an invalid byte
// escaped as \xNN, or a single quote inside a quoted word, '\” with its
// backslash escaped.
const (
	maxEscapedByte = len(`\xNN`)
	maxQuotedByte  = len(`'\\''`)
)

// escapedRune returns how many bytes escapeValue writes for the first
// character of s, and how many bytes of s that character takes.
func escapedRune(s string) (cost, size int) {
	r, size := utf8.DecodeRuneInString(s)
	switch {
	case r == '\\', r == '\n', r == '\t', r == '\r':
		return 2, size
	case r == utf8.RuneError && size == 1, r < 0x20, r == 0x7f:
		return 4, size
	}
	return size, size
}

// fitPrefix returns the longest prefix of s, ending on a character
// boundary, whose escaped form costs at most budget bytes, where quoted
// adds what shell quoting may cost on top: single quotes around it, and
// each single quote written as quote, backslash, quote, quote (five bytes
// once the backslash is escaped).
func fitPrefix(s string, budget int, quoted bool) string {
	n := 0
	if quoted {
		n = 2
	}
	for i := 0; i < len(s); {
		c, size := escapedRune(s[i:])
		if quoted && s[i] == '\'' {
			c = len(`'\\''`) // '\'' with its backslash escaped
		}
		if n+c > budget {
			return s[:i]
		}
		n += c
		i += size
	}
	return s
}

// truncMarkerReserve is room enough for any marker, digits included.
const truncMarkerReserve = len(TruncatedMarker+" more bytes in  args]") + 2*20 + 2

// truncateValue returns s if its escaped form fits in budget bytes, and
// otherwise its longest prefix that fits together with a marker
// "…[truncated: N more bytes]".
func truncateValue(s string, budget int) string {
	if len(s)*maxEscapedByte <= budget || escapedLen(s) <= budget {
		return s
	}
	p := fitPrefix(s, budget-truncMarkerReserve, false)
	return p + fmt.Sprintf("%s%d more bytes]", TruncatedMarker, len(s)-len(p))
}

// truncateArgv returns argv if its escaped, shell-quoted form (the argv
// value of a .info file) fits in budget bytes. Otherwise it keeps the
// whole arguments that fit, the start of the next one if there is room,
// and adds a last argument "…[truncated: N more bytes in M args]", N being
// the bytes left out and M the arguments cut or left out.
func truncateArgv(argv []string, budget int) []string {
	used := 0
	for _, a := range argv {
		used += 1 + len(`''`) + len(a)*maxQuotedByte
	}
	if used <= budget {
		return argv // fits however it is quoted and escaped
	}
	used = 0
	for i, a := range argv {
		if i > 0 {
			used++ // the separating space
		}
		used += escapedLen(shellword.Quote(a))
		if used > budget {
			break
		}
	}
	if used <= budget {
		return argv
	}
	room := budget - truncMarkerReserve - 1
	var out []string
	used = 0
	for i, a := range argv {
		sep := 0
		if i > 0 {
			sep = 1
		}
		if c := sep + escapedLen(shellword.Quote(a)); used+c <= room {
			out = append(out, a)
			used += c
			continue
		}
		omitted := 0
		for _, rest := range argv[i:] {
			omitted += len(rest)
		}
		// The start of a, if a useful part of it fits: the rest of the
		// marker's room is spent on it.
		if avail := room - used - sep; avail >= 16 {
			if p := fitPrefix(a, avail, true); p != "" {
				out = append(out, p)
				omitted -= len(p)
			}
		}
		unit := "args"
		if len(argv)-i == 1 {
			unit = "arg"
		}
		return append(out, fmt.Sprintf("%s%d more bytes in %d %s]", TruncatedMarker, omitted, len(argv)-i, unit))
	}
	return out // not reached: argv did not fit
}
