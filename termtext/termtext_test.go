package termtext

import "testing"

// TestText checks which strings Text leaves alone.
func TestText(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                  "",
		"/srv/bot dir":      "/srv/bot dir",
		`C:\Users\me`:       `C:\Users\me`,
		"ünï ✓ 日本":          "ünï ✓ 日本",
		"a\nb":              `"a\nb"`,
		"\x1b[2J":           `"\x1b[2J"`,
		"\xff":              `"\xff"`,
		`"quoted"`:          `"\"quoted\""`,
		"nbsp\u00a0":        `"nbsp\u00a0"`,
		"c:\\dir\n":         `"c:\\dir\n"`,
		"\u202eevil":        `"\u202eevil"`,
		"tab\there":         `"tab\there"`,
		"zero\u200bwidth":   `"zero\u200bwidth"`,
		"plain 'single' ok": "plain 'single' ok",
		"emoji 🚀 is fine":   "emoji 🚀 is fine",
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %s, want %s", in, got, want)
		}
	}
}
