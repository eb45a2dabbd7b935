package cli

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// forever is the parsed value of "forever" or -1.
const forever = time.Duration(-1)

// maxNanos bounds a bare number of seconds, in nanoseconds: 2^63, one more
// than the largest time.Duration (about 292 years).
const maxNanos = 0x1p63

// parseDuration reads a duration in Go syntax (500ms, 10s, 2m), a bare
// number of seconds (10, 1.5), or "forever" / -1 for no limit. NaN, an
// infinity, or a duration longer than time.Duration can hold is an error,
// never a disguised "forever": no limit must be asked for by name.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "forever", "-1":
		return forever, nil
	case "":
		return 0, fmt.Errorf("empty duration")
	}
	if secs, err := strconv.ParseFloat(s, 64); err == nil || isRangeError(err) {
		switch {
		case math.IsNaN(secs), math.IsInf(secs, 0) && err == nil:
			return 0, fmt.Errorf("invalid duration %q: not a finite number (use forever to wait without limit)", s)
		case secs < 0:
			return 0, fmt.Errorf("invalid duration %q: negative (use -1 or forever to wait without limit)", s)
		case secs*float64(time.Second) >= maxNanos:
			return 0, fmt.Errorf("invalid duration %q: too long, at most %d seconds (use forever to wait without limit)", s, math.MaxInt64/int64(time.Second))
		}
		return time.Duration(secs * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		if strings.Contains(err.Error(), "invalid duration") && looksLikeGoDuration(s) {
			return 0, fmt.Errorf("invalid duration %q: too long, at most %v (use forever to wait without limit)", s, time.Duration(math.MaxInt64))
		}
		return 0, fmt.Errorf("invalid duration %q: use Go syntax such as 500ms, 10s, 2m, a number of seconds, or forever", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid duration %q: negative (use -1 or forever to wait without limit)", s)
	}
	return d, nil
}

// isRangeError reports whether err is strconv's "value out of range",
// which ParseFloat returns with ±Inf for a number too large for a float64.
func isRangeError(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// looksLikeGoDuration reports whether s is made of digits, dots and unit
// letters only, so that time.ParseDuration rejecting it means it
// overflowed rather than being malformed.
func looksLikeGoDuration(s string) bool {
	s = strings.TrimPrefix(s, "+")
	if s == "" {
		return false
	}
	for _, u := range []string{"ns", "us", "µs", "μs", "ms", "s", "m", "h"} {
		s = strings.ReplaceAll(s, u, "")
	}
	return strings.Trim(s, "0123456789.") == "" && s != ""
}

// durationFlag is a cmdline.Value for parseDuration.
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if *f.d == forever {
		return "forever"
	}
	return f.d.String()
}

func (f durationFlag) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

func (f durationFlag) Type() string { return "duration" }
