package cli

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestParseDurationRejectsNonFinite checks that no spelling of NaN, an
// infinity or an out-of-range number becomes a duration (on amd64 a NaN
// converted to time.Duration is math.MinInt64, a wait without limit), and
// that the named forms of no limit still parse.
func TestParseDurationRejectsNonFinite(t *testing.T) {
	for _, s := range []string{"NaN", "nan", "-nan", "Inf", "+Inf", "-Inf", "inf", "infinity", "+Infinity",
		"1e300", "1e400", "-1e400", "9223372037", "0x1p70", "3000000h", "9223372036854775808ns"} {
		d, err := parseDuration(s)
		if err == nil {
			t.Errorf("parseDuration(%q) = %v, want an error", s, d)
			continue
		}
		if !strings.Contains(err.Error(), `invalid duration "`+s+`"`) {
			t.Errorf("parseDuration(%q) error %q does not name the value", s, err)
		}
	}
	for s, want := range map[string]time.Duration{
		"forever":               forever,
		"-1":                    forever,
		"0":                     0,
		"1.5":                   1500 * time.Millisecond,
		"1e3":                   1000 * time.Second,
		"9223372036":            9223372036 * time.Second,
		"2562047h":              2562047 * time.Hour,
		"9223372036854775807ns": math.MaxInt64,
	} {
		d, err := parseDuration(s)
		if err != nil || d != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", s, d, err, want)
		}
	}
}
