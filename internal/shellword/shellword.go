// Package shellword quotes a word for a POSIX shell, the one rule that the
// .info file's argv line and the text the commands print share.
package shellword

import "strings"

// Quote returns s as one word a POSIX shell reads back as s: as it is if it
// is made only of letters, digits and @%+=:,./_-, else in single quotes.
// It does not escape control characters; callers that print to a terminal
// must (see package termtext).
func Quote(s string) string {
	if Bare(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Bare reports whether Quote returns s as it is: s is not empty and is
// made only of letters, digits and @%+=:,./_-.
func Bare(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("@%+=:,./_-", c) >= 0) {
			return false
		}
	}
	return true
}
