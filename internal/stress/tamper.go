package main

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// A tamperKind is what a tamper round does to a held lock's files, as a
// temporary-file cleaner or a careless person would.
type tamperKind int

const (
	deleteLock  tamperKind = iota // remove NAME.lock
	replaceLock                   // rename a new empty file over NAME.lock
	deleteInfo                    // remove NAME.info and NAME.pid
	garbleInfo                    // overwrite NAME.info and NAME.pid in place with random bytes
	deleteAll                     // remove NAME.lock, NAME.info and NAME.pid, as a temporary-file cleaner does
	numTamperKinds
)

func (k tamperKind) String() string {
	return [...]string{"delete-lock", "replace-lock", "delete-info", "garble-info", "delete-all"}[k]
}

// tamper does k to the files of name in dir. Files already missing are not
// an error: the holder may be restoring them at this very moment.
func tamper(k tamperKind, dir, name string, rng *rand.Rand) error {
	base := filepath.Join(dir, name)
	lock, info, pid := base+".lock", base+".info", base+".pid"
	var err error
	switch k {
	case deleteLock:
		err = ignoreMissing(os.Remove(lock))
	case replaceLock:
		tmp := base + ".stress-replacement"
		if err = os.WriteFile(tmp, nil, 0o644); err == nil {
			err = os.Rename(tmp, lock)
		}
	case deleteInfo:
		err = errors.Join(ignoreMissing(os.Remove(info)), ignoreMissing(os.Remove(pid)))
	case garbleInfo:
		garbage := func() []byte {
			b := make([]byte, 1+rng.IntN(200))
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			return b
		}
		err = errors.Join(ignoreMissing(overwrite(info, garbage())), ignoreMissing(overwrite(pid, garbage())))
	case deleteAll:
		err = errors.Join(ignoreMissing(os.Remove(lock)), ignoreMissing(os.Remove(info)), ignoreMissing(os.Remove(pid)))
	}
	return err
}

func ignoreMissing(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// overwrite replaces the contents of an existing file in place, keeping
// its inode.
func overwrite(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	return errors.Join(err, f.Close())
}
