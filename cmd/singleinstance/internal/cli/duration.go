package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// forever is the parsed value of "forever" or -1.
const forever = time.Duration(-1)

// parseDuration reads a duration in Go syntax (500ms, 10s, 2m), a bare
// number of seconds (10, 1.5), or "forever" / -1 for no limit.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "forever", "-1":
		return forever, nil
	case "":
		return 0, fmt.Errorf("empty duration")
	}
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		if secs < 0 {
			return 0, fmt.Errorf("invalid duration %q: negative (use -1 or forever to wait without limit)", s)
		}
		return time.Duration(secs * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: use Go syntax such as 500ms, 10s, 2m, a number of seconds, or forever", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid duration %q: negative (use -1 or forever to wait without limit)", s)
	}
	return d, nil
}

// durationFlag is a pflag.Value for parseDuration.
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
