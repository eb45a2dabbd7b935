// Package nametoken keeps kernel-held tokens per lock name, which no file
// cleaner can delete: on Linux, datagram sockets bound to names in the
// abstract unix socket namespace. A holder binds one of a name's Slots
// tokens.
//
// A lock file can be deleted while it is held; its holder then holds a lock
// that no newcomer can see. The token closes that gap. The holder binds it
// while it holds the file lock and passes it to every process it guards,
// like the lock's descriptor. The kernel unbinds the name when the last of
// them closes it or dies, so a bound name means that some process of the
// holder's tree still runs, whatever happened to the files.
//
// The abstract namespace belongs to the network namespace, not to a user:
// another user can bind a name first. Owner tells such a squatter apart
// from a holder of the caller's own user.
//
// Elsewhere every call fails with an error wrapping errors.ErrUnsupported.
package nametoken

import (
	"encoding/hex"
	"errors"
	"os"
	"strconv"
)

// ErrTaken is returned by Claim when the name is bound already.
var ErrTaken = errors.New("name token is held by another process")

// Key returns the token name for a lock name of the user uid in scope (the
// lock directory, or "" for the user's default one). It is short enough for
// any platform's socket address and reveals neither the scope nor the name.
func Key(uid int, scope, name string) string {
	sum := sum256([]byte(scope + "\x00" + name))
	return "singleinstance/" + strconv.Itoa(uid) + "/" + hex.EncodeToString(sum[:16])
}

// Slots is how many tokens a name has: a holder that finds one bound by
// processes that no longer hold the name binds the next (see SlotKey).
const Slots = 4

// SlotKey returns the key of the token numbered slot (from 0 to Slots-1)
// of the name whose Key is key; slot 0's is key itself.
func SlotKey(key string, slot int) string {
	if slot == 0 {
		return key
	}
	return key + "/" + strconv.Itoa(slot)
}

// Claim binds key and returns the bound socket, which holds the name until
// it and every copy of it are closed. It fails with ErrTaken if the name is
// bound already. The returned file is not inherited across exec unless the
// caller passes it on explicitly.
func Claim(key string) (*os.File, error) { return claim(key) }

// Bound reports whether some process holds key, without claiming it or
// disturbing its holder.
func Bound(key string) (bool, error) { return bound(key) }

// BoundEach reports, for each of keys, whether some process holds it,
// without claiming it or disturbing its holder. It asks through via, a
// token returned by Claim, if via is not nil (which it leaves as it was),
// else through a socket of its own.
func BoundEach(via *os.File, keys []string) ([]bool, error) { return boundEach(via, keys) }

// Owner returns the user ID that created the socket bound to key, and the
// socket's inode number (to find its holders in /proc). It returns an error
// wrapping os.ErrNotExist if nothing holds key.
func Owner(key string) (uid int, ino uint64, err error) { return owner(key) }

// Inode returns the inode number of a socket returned by Claim.
func Inode(f *os.File) (uint64, error) { return inode(f) }
