package local

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzParseInfo feeds arbitrary bytes to the .info parser. It must never
// panic, and whatever it accepts must survive encoding and parsing again.
func FuzzParseInfo(f *testing.F) {
	for _, h := range sampleHolders(f) {
		f.Add(encodeInfo("trading_bot", h))
	}
	f.Add([]byte(""))
	f.Add([]byte("\n"))
	f.Add([]byte("format=singleinstance/1\n"))
	f.Add([]byte("format=singleinstance/1\npid=1\nstarted=2024-01-02T03:04:05+01:00\nacquired=2024-01-02T03:04:05,5Z\n" +
		"argv=a\\x20'b c'\\\\d\nuid=+7\ntoken=1\nstart_id=0\npid_ns=0\nlock_dev=0\nlock_ino=0\nnew_key=\\x41\n"))
	f.Add([]byte("format=singleinstance/1\ncwd=\\x4"))
	f.Add([]byte("format=singleinstance/1\nargv='unterminated\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := parseInfo(data)
		if err != nil {
			if h != nil {
				t.Fatalf("parseInfo returned a holder with error %v", err)
			}
			return
		}
		if h.PID <= 0 {
			t.Fatalf("parseInfo accepted pid %d", h.PID)
		}
		if h.UID < -1 {
			t.Fatalf("parseInfo accepted uid %d", h.UID)
		}
		again := encodeInfo("fuzz", h)
		h2, err := parseInfo(again)
		if err != nil {
			t.Fatalf("parseInfo(encodeInfo(parsed)) = %v\ninput: %q\nencoded: %q", err, data, again)
		}
		if d := sameStored(t, h2, h); d != "" {
			t.Fatalf("re-encoding changed the holder: %s\ninput: %q\nencoded: %q", d, data, again)
		}
	})
}

// fuzzArgv builds an argument list from s: its first byte separates the
// arguments in the rest, so that any byte, NUL included, can be inside an
// argument. An empty s is no arguments.
func fuzzArgv(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s[1:], s[:1])
}

// FuzzInfoRoundTrip encodes holders with arbitrary strings and argv and
// checks that parsing gives them back exactly.
func FuzzInfoRoundTrip(f *testing.F) {
	f.Add("/usr/bin/prog", "/home/me", "me", "box", "8f0c2d3a", "\x00/usr/bin/prog\x00-v\x00", int32(4242), int64(1000),
		uint64(1709263800000001), int64(1709263800), uint32(123456789), int16(60))
	f.Add("", "", "", "", "", "", int32(1), int64(-1), uint64(0), int64(0), uint32(0), int16(0))
	f.Add("/opt/my app/it's", "C:\\dir\n\t\r", "DOMAIN\\user", "h\x00\xff", "b\\x41", " a b 'c' \"d\" \\e  ",
		int32(math.MaxInt32), int64(math.MaxInt32), uint64(math.MaxUint64), int64(-62135596800), uint32(999999999), int16(-(23*60 + 59)))
	f.Add("ünï", "✓", "日本", "\x7f", "=", ",'',''\\'\n,\xc3,", int32(7), int64(0), uint64(1), int64(253402300799), uint32(1), int16(23*60+59))
	f.Fuzz(func(t *testing.T, exe, cwd, user, host, bootID, argv string, pid int32, uid int64, token uint64,
		startSec int64, nsec uint32, offsetMin int16) {
		// Times within the years RFC 3339 can write (0000 to 9999), in a
		// zone with a whole-minute offset under 24 hours.
		const minSec, maxSec = -62167219200, 253402300799 // 0000-01-01 and 9999-12-31T23:59:59 UTC
		off := int(offsetMin) % (24 * 60)
		sec := minSec + 24*3600 + int64(uint64(startSec)%uint64(maxSec-minSec-2*24*3600))
		zone := time.FixedZone("", off*60)
		started := time.Unix(sec, int64(nsec%1e9)).In(zone)
		if pid <= 0 {
			pid = pid&math.MaxInt32 | 1
		}
		h := &Record{
			PID:          int(pid),
			Started:      started,
			AcquiredAt:   started.Add(time.Duration(nsec)).UTC(),
			Executable:   exe,
			Argv:         fuzzArgv(argv),
			Cwd:          cwd,
			User:         user,
			UID:          int(max(uid, -1)),
			Host:         host,
			Token:        token,
			StartID:      token ^ 0x5555,
			BootID:       bootID,
			PIDNamespace: uint64(uid),
			LockDevice:   uint64(startSec),
			LockInode:    uint64(nsec),
		}
		data := encodeInfo("fuzz", h)
		if len(data) > MaxInfoSize {
			t.Fatalf("encoded info is %d bytes, more than MaxInfoSize", len(data))
		}
		if n := strings.Count(string(data), "\n"); n != 17 {
			t.Fatalf("encoded info has %d lines, want 17: %q", n, data)
		}
		// The argv line, quoted and escaped in one pass, is the escaped
		// form of the shell-quoted words.
		if line := "\nargv=" + escapeValue(quoteArgv(boundForInfo(h).Argv)) + "\n"; !strings.Contains(string(data), line) {
			t.Fatalf("encoded info has no line %q: %q", line, data)
		}
		got, err := parseInfo(data)
		if err != nil {
			t.Fatalf("parseInfo(encodeInfo(h)) = %v\nencoded: %q", err, data)
		}
		// What fits comes back exactly; what does not, cut as
		// boundForInfo cuts it.
		if d := sameStored(t, got, boundForInfo(h)); d != "" {
			t.Fatalf("round trip changed the holder: %s\nencoded: %q", d, data)
		}
	})
}

// FuzzInfoBounded encodes holders whose argv and strings are repeated
// many times over, up to several MiB: the .info file must never exceed
// MaxInfoSize, must parse, must say where it was cut, and must not change
// when encoded again.
func FuzzInfoBounded(f *testing.F) {
	f.Add("\x01\x1b[2J\n", "\x00a\x00'b'", "/tmp/\n", uint16(20000), uint16(40), uint8(1))
	f.Add("'", "\x00'\x00\\", "\xff", uint16(65535), uint16(60), uint8(0))
	f.Add("ünï✓", "\x00\x00\x00", "", uint16(30000), uint16(3), uint8(2))
	f.Add("a", " a b c", "x", uint16(1), uint16(1), uint8(3))
	f.Fuzz(func(t *testing.T, unit, argv, cwd string, repeat, argRepeat uint16, field uint8) {
		big := strings.Repeat(unit, int(repeat))
		args := fuzzArgv(argv)
		var many []string
		for range argRepeat {
			many = append(many, args...)
		}
		if len(many) > 0 {
			many[len(many)/2] += big
		}
		h := &Record{PID: 1, Argv: many, Cwd: strings.Repeat(cwd, int(repeat))}
		switch field % 4 {
		case 0:
			h.Executable = big
		case 1:
			h.User = big
		case 2:
			h.Host = big
		case 3:
			h.BootID = big
		}
		data := encodeInfo("fuzz", h)
		if len(data) > MaxInfoSize {
			t.Fatalf("encoded info is %d bytes, more than MaxInfoSize", len(data))
		}
		got, err := parseInfo(data)
		if err != nil {
			t.Fatalf("parseInfo(encodeInfo(h)) = %v", err)
		}
		want := boundForInfo(h)
		if d := sameStored(t, got, want); d != "" {
			t.Fatalf("round trip differs from the bounded holder: %s", d)
		}
		if again := encodeInfo("fuzz", got); !bytes.Equal(again, data) {
			t.Fatalf("encoding the parsed holder again changed the file")
		}
		if !slices.Equal(want.Argv, h.Argv) {
			last := want.Argv[len(want.Argv)-1]
			if !strings.HasPrefix(last, TruncatedMarker) {
				t.Fatalf("argv was cut without a marker: last element %q", last)
			}
		}
		for _, v := range [][2]string{{h.Executable, want.Executable}, {h.Cwd, want.Cwd}, {h.User, want.User},
			{h.Host, want.Host}, {h.BootID, want.BootID}} {
			if v[0] != v[1] && (!strings.Contains(v[1], TruncatedMarker) || !strings.HasPrefix(v[0], strings.Split(v[1], TruncatedMarker)[0])) {
				t.Fatalf("value cut without a marker, or not to a prefix: %q", v[1])
			}
		}
	})
}
