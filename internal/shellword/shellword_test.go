package shellword_test

import (
	"os/exec"
	"testing"

	"github.com/singleinstance/singleinstance/internal/shellword"
)

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":            "''",
		"plain-word":  "plain-word",
		"two words":   "'two words'",
		"it's":        `'it'\''s'`,
		"a/b.c=d:e@f": "a/b.c=d:e@f",
		"$HOME":       "'$HOME'",
	} {
		if got := shellword.Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestQuoteRoundTrip has a real shell read each quoted word back.
func TestQuoteRoundTrip(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, in := range []string{"", "x y", "it's", `back\slash`, "$(true)", "*", "a\nb"} {
		out, err := exec.Command(sh, "-c", "printf %s "+shellword.Quote(in)).Output()
		if err != nil || string(out) != in {
			t.Errorf("sh read %s back as %q (%v), want %q", shellword.Quote(in), out, err, in)
		}
	}
}
