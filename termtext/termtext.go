// Package termtext renders text that other programs wrote (a lock
// holder's command line, working directory, user name) so that it is
// safe to show on a terminal and to paste into a shell: it can neither
// forge output lines nor drive the terminal.
package termtext

import (
	"fmt"
	"github.com/singleinstance/singleinstance/internal/shellword"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Text returns s fit to be shown on a terminal: s itself if it is
// valid UTF-8 made of printable characters only (see strconv.IsPrint;
// printable Unicode is kept) and does not start with a double quote, and
// otherwise s as a double-quoted Go string literal (strconv.Quote), in
// which line breaks, escape sequences, other control characters and
// invalid UTF-8 show as \n, \x1b, \u202e, \xff and the like. A value
// from another program (a holder's working directory, its user name) can
// thus neither forge output lines nor drive the terminal.
func Text(s string) string {
	if printable(s) && !strings.HasPrefix(s, `"`) {
		return s
	}
	return strconv.Quote(s)
}

// Argv renders argv as words that a POSIX shell would split back
// into the same arguments, fit to be shown on a terminal: plain words
// bare, others in single quotes, and words with control characters,
// invalid UTF-8 or other unprintable characters in ANSI-C quotes
// ($'...', as bash, zsh and ksh read them), with every such character
// escaped.
func Argv(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		words[i] = Word(a)
	}
	return strings.Join(words, " ")
}

// printable reports whether s is valid UTF-8 made of printable
// characters only.
func printable(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || !strconv.IsPrint(r) {
			return false
		}
		i += size
	}
	return true
}

// Word quotes one word for a shell and a terminal (see Argv).
func Word(s string) string {
	if printable(s) {
		return shellword.Quote(s)
	}
	var b strings.Builder
	b.WriteString("$'")
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\' || r == '\'':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case strconv.IsPrint(r):
			b.WriteString(s[i : i+size])
		case r < utf8.RuneSelf:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		i += size
	}
	b.WriteByte('\'')
	return b.String()
}
