//go:build linux

package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// On Linux the live figures come straight from /proc/PID/stat, read once:
// gopsutil's process package, used elsewhere, would link package net (and
// so cgo) and read /proc/stat when any program using this package starts.

func liveStats(ctx context.Context, id Identity) (Stats, error) {
	f, err := statFields(id)
	if err != nil {
		return Stats{}, err
	}
	var s Stats
	s.Status = stateName(f[3-3])
	var errs []error
	if pct, err := cpuPercent(f); err == nil {
		s.CPUPercent = pct
	} else {
		errs = append(errs, err)
	}
	if rss, err := strconv.ParseUint(f[24-3], 10, 64); err == nil {
		s.RSS = rss * uint64(os.Getpagesize())
	} else {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return s, errs[0]
	}
	return s, nil
}

func parentPID(ctx context.Context, id Identity) (int, error) {
	f, err := statFields(id)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(f[4-3])
}

// statFields reads /proc/PID/stat of the process id names and returns its
// fields from the third (state) on, so that field N of proc(5) is at
// N-3. It returns ErrNotFound unless that process, with the recorded start
// time, is the one read: the start time is checked in the same read as the
// figures.
func statFields(id Identity) ([]string, error) {
	if err := checkVisible(id); err != nil {
		return nil, err
	}
	dir, err := procDir(id.PID)
	if err != nil {
		return nil, err
	}
	b, err := readProcFile(dir + "/stat")
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	// The command name (field 2) is in parentheses and may itself hold
	// spaces and parentheses, so fields are counted from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, fmt.Errorf("malformed /proc stat line")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) <= 24-3 {
		return nil, fmt.Errorf("malformed /proc stat line: %d fields", len(f)+2)
	}
	start, err := strconv.ParseUint(f[22-3], 10, 64)
	if err != nil {
		return nil, err
	}
	if start != id.StartID {
		return nil, ErrNotFound
	}
	return f, nil
}

// cpuPercent is the process's CPU time over its lifetime, as gopsutil
// computes it on Linux (user, system and, if the kernel accounts it, block
// I/O delay, field 42), where 100 means one core busy.
func cpuPercent(f []string) (float64, error) {
	var ticks float64
	for _, n := range []int{14, 15, 42} {
		if n-3 >= len(f) {
			continue // older kernels have no field 42
		}
		v, err := strconv.ParseFloat(f[n-3], 64)
		if err != nil {
			if n == 42 {
				continue
			}
			return 0, err
		}
		ticks += v
	}
	start, err := strconv.ParseFloat(f[22-3], 64)
	if err != nil {
		return 0, err
	}
	up, err := uptime()
	if err != nil {
		return 0, err
	}
	life := up - start/clockTicks
	if life <= 0 {
		return 0, nil
	}
	return 100 * ticks / clockTicks / life, nil
}

// uptime reads the seconds since boot from /proc/uptime.
func uptime() (float64, error) {
	b, err := readProcFile("/proc/uptime")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, errors.New("empty /proc/uptime")
	}
	return strconv.ParseFloat(f[0], 64)
}

// stateName names a /proc state letter the way gopsutil's Status does.
func stateName(letter string) string {
	switch letter {
	case "D", "U":
		return "blocked"
	case "I":
		return "idle"
	case "L":
		return "lock"
	case "R":
		return "running"
	case "S":
		return "sleep"
	case "T", "t":
		return "stop"
	case "W":
		return "wait"
	case "Z":
		return "zombie"
	}
	return ""
}
