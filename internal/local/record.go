package local

import (
	"fmt"
	"math"
	"os"
	"strings"
	"time"
)

// The lock file holds one fixed-width line written only by the lock's
// holder: the last fencing token handed out for the name, whether its
// holder still holds the lock, the inode of the file it was written to,
// and a hash of the name it was written for. A holder writes "held" right
// after locking and "free" right before unlocking, so a reader that sees
// "held" twice around a check that the lock is held, with the same token
// as the .info file, knows the .info describes the current holder. A holder that locked this file in place of
// its own, which was deleted or replaced (see restore), writes "repl"
// instead of "held", and "left" instead of "free": processes it started, or
// passed the lock to, may still hold the file it replaced. A record that
// names another inode than its file's was copied there (a backup put back,
// an editor's save): it says nothing of this file. One that names this
// inode but another name is another name's lock file, renamed to this
// name's path (see probeResult.foreign).
//
//	singleinstance token=00000000000000000042 state=held inode=00000000000000001234 name=9f86d081884c7d65
const recordLen = len("singleinstance token=00000000000000000000 state=held inode=00000000000000000000 name=0000000000000000\n")

type record struct {
	token uint64
	held  bool
	// replaced: written on a file that replaced the holder's first one.
	replaced bool
	// ino is the inode of the file the record was written to.
	ino uint64
	// name is nameSum of the lock name it was written for; 0 if unknown.
	name uint64
}

// nameSum is the hash of a lock name that its records carry: 64-bit
// FNV-1a, never 0.
func nameSum(name string) uint64 {
	h := uint64(14695981039346656037)
	for i := range len(name) {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	return max(h, 1)
}

// The record's fields sit at fixed offsets: a reader checks the text
// around them and the digits in them, without fmt's scanner, which the
// check command would otherwise load and run on every start.
const (
	recordTokenAt = len("singleinstance token=")
	recordStateAt = recordTokenAt + recordDigits + len(" state=")
	recordInodeAt = recordStateAt + len("held") + len(" inode=")
	recordNameAt  = recordInodeAt + recordDigits + len(" name=")
	recordDigits  = 20 // the width of math.MaxUint64
	recordHex     = 16 // the width of a name's hash
)

// state is the record's state word.
func (r record) state() string {
	switch {
	case r.held && r.replaced:
		return "repl"
	case r.held:
		return "held"
	case r.replaced:
		return "left"
	}
	return "free"
}

func (r record) bytes() []byte {
	b := make([]byte, 0, recordLen)
	b = append(b, "singleinstance token="...)
	b = appendDigits(b, r.token)
	b = append(b, " state="...)
	b = append(b, r.state()...)
	b = append(b, " inode="...)
	b = appendDigits(b, r.ino)
	b = append(b, " name="...)
	b = appendHex(b, r.name)
	return append(b, '\n')
}

// appendHex appends v in lowercase hexadecimal, zero-padded to recordHex
// digits.
func appendHex(b []byte, v uint64) []byte {
	const digits = "0123456789abcdef"
	for shift := 4 * (recordHex - 1); shift >= 0; shift -= 4 {
		b = append(b, digits[v>>shift&0xf])
	}
	return b
}

// appendDigits appends v in decimal, zero-padded to recordDigits digits.
func appendDigits(b []byte, v uint64) []byte {
	var d [recordDigits]byte
	for i := len(d) - 1; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[:]...)
}

// parseRecord reads a record; anything else (a new file, damage, a record
// of another version) is the zero record: token 0, not held. Only the
// exact text that bytes writes parses.
func parseRecord(b []byte) record {
	if len(b) < recordLen {
		return record{}
	}
	b = b[:recordLen]
	if string(b[:recordTokenAt]) != "singleinstance token=" ||
		string(b[recordTokenAt+recordDigits:recordStateAt]) != " state=" ||
		string(b[recordStateAt+len("held"):recordInodeAt]) != " inode=" ||
		string(b[recordInodeAt+recordDigits:recordNameAt]) != " name=" ||
		b[recordLen-1] != '\n' {
		return record{}
	}
	token, ok := parseDigits(b[recordTokenAt : recordTokenAt+recordDigits])
	if !ok {
		return record{}
	}
	ino, ok := parseDigits(b[recordInodeAt : recordInodeAt+recordDigits])
	if !ok {
		return record{}
	}
	name, ok := parseHex(b[recordNameAt : recordNameAt+recordHex])
	if !ok {
		return record{}
	}
	r := record{token: token, ino: ino, name: name}
	switch string(b[recordStateAt : recordStateAt+len("held")]) {
	case "held":
		r.held = true
	case "repl":
		r.held, r.replaced = true, true
	case "left":
		r.replaced = true
	case "free":
	default:
		return record{}
	}
	return r
}

// parseDigits parses decimal digits, failing on anything else and on a
// value above math.MaxUint64.
func parseDigits(d []byte) (uint64, bool) {
	var v uint64
	for _, c := range d {
		if c < '0' || c > '9' {
			return 0, false
		}
		n := uint64(c - '0')
		if v > (math.MaxUint64-n)/10 {
			return 0, false
		}
		v = v*10 + n
	}
	return v, true
}

// parseHex parses lowercase hexadecimal digits, failing on anything else.
func parseHex(d []byte) (uint64, bool) {
	var v uint64
	for _, c := range d {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// heldLockFile returns proc.NameLock.HeldRecord for the lock name whose
// lock file is named base: f, an open file with inode ino, counts if its
// record says held and was written to f itself, not copied there, for
// this name (or by a version that did not name it). Where the process
// write-locks f (locked), f counts unless its record says it is another
// name's held lock file: a newcomer that has locked whatever file was at
// the lock path, and has not yet written its own record when the file is
// renamed away (a careless mv while it takes the lock), is seen, so that
// another newcomer that takes the file now at the path does not start
// beside it.
func heldLockFile(base string) func(f *os.File, ino uint64, locked bool) bool {
	name := nameSum(strings.TrimSuffix(base, ".lock"))
	return func(f *os.File, ino uint64, locked bool) bool {
		r := readRecord(f)
		held := r.held && r.ino == ino
		othersHeld := held && r.name != 0 && r.name != name
		return (held || locked) && !othersHeld
	}
}

func readRecord(f *os.File) record {
	b := make([]byte, recordLen)
	n, _ := f.ReadAt(b, 0)
	return parseRecord(b[:n])
}

// writeRecord writes r to f, naming ino, f's inode (which the caller knows:
// an open file keeps its inode).
func writeRecord(f *os.File, ino uint64, r record) error {
	r.ino = ino
	_, err := f.WriteAt(r.bytes(), 0)
	return err
}

// describes reports whether r was written to the file with inode ino,
// not copied there.
func (r record) describes(ino uint64) bool { return r.ino == ino }

// mayHideDeleted reports whether a free lock file with inode ino and
// record r may hide the holder of a deleted lock file of the name (see
// needsDeletedSearch).
func (r record) mayHideDeleted(ino uint64) bool {
	return r.token == 0 || r.replaced || !r.describes(ino)
}

// nextToken returns a fencing token greater than every earlier one: greater
// than the last recorded in the lock file and in the .info file, and never
// less than the current time in microseconds since the epoch, so that
// tokens keep growing even if a temporary-file cleaner deletes both files
// while nothing holds the lock, or a crash loses the last write. A clock
// set before 1970 counts as 0.
//
// Tokens never wrap: once a last token is math.MaxUint64, no greater one
// exists, and nextToken fails with an error matching ErrTokensExhausted
// rather than hand out a smaller token than an earlier holder had.
func nextToken(last ...uint64) (uint64, error) {
	t := uint64(max(time.Now().UnixMicro(), 0))
	for _, l := range last {
		if l == math.MaxUint64 {
			return 0, fmt.Errorf("%w: the last token handed out is %d, the largest possible; "+
				"a smaller one would let a stale holder's writes win: use another lock name or lock directory "+
				"(and reset the systems that remember tokens)", ErrTokensExhausted, l)
		}
		t = max(t, l+1)
	}
	return t, nil
}
