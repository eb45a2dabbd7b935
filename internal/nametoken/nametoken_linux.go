//go:build linux

package nametoken

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

func claim(key string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: "@" + key}); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EADDRINUSE) {
			return nil, ErrTaken
		}
		return nil, os.NewSyscallError("bind", err)
	}
	return os.NewFile(uintptr(fd), "nametoken:"+key), nil
}

func bound(key string) (bool, error) {
	b, err := boundEach(nil, []string{key})
	if err != nil {
		return false, err
	}
	return b[0], nil
}

// boundEach connects a datagram socket to each name in turn: that succeeds
// if and only if a socket is bound to it, and it sends nothing. Making a
// socket costs several times more than a connect, so one socket asks about
// every name: via, if it is not nil, else one of its own.
func boundEach(via *os.File, keys []string) ([]bool, error) {
	if via == nil {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, os.NewSyscallError("socket", err)
		}
		defer unix.Close(fd)
		return boundFrom(fd, keys)
	}
	rc, err := via.SyscallConn()
	if err != nil {
		return nil, err
	}
	var b []bool
	if cerr := rc.Control(func(fd uintptr) { b, err = boundFrom(int(fd), keys) }); cerr != nil {
		return nil, cerr
	}
	return b, err
}

// boundFrom asks through the datagram socket fd whether each of keys is
// bound, leaving fd unconnected.
func boundFrom(fd int, keys []string) ([]bool, error) {
	b := make([]bool, len(keys))
	for i, key := range keys {
		switch err := unix.Connect(fd, &unix.SockaddrUnix{Name: "@" + key}); {
		case err == nil:
			b[i] = true
			if err := disconnect(fd); err != nil {
				return nil, err
			}
		case errors.Is(err, unix.EPERM):
			// The name's socket is connected to another (one that
			// is asking about names just now): it is bound.
			b[i] = true
		case errors.Is(err, unix.ECONNREFUSED), errors.Is(err, unix.ENOENT):
		default:
			return nil, os.NewSyscallError("connect", err)
		}
	}
	return b, nil
}

// disconnect undoes a datagram socket's connect (connect to AF_UNSPEC), so
// that a token that asked about another is left as it was.
func disconnect(fd int) error {
	sa := unix.RawSockaddr{Family: unix.AF_UNSPEC}
	_, _, errno := unix.Syscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
	if errno != 0 {
		return os.NewSyscallError("connect AF_UNSPEC", errno)
	}
	return nil
}

func inode(f *os.File) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return 0, os.NewSyscallError("fstat", err)
	}
	return st.Ino, nil
}

// From linux/unix_diag.h.
const (
	udiagShowName = 0x01
	udiagShowUID  = 0x40
	unixDiagName  = 0
	unixDiagUID   = 7
)

// owner asks the kernel's socket diagnostics (NETLINK_SOCK_DIAG) for every
// unix socket with its name and creator, and picks the one bound to key.
func owner(key string) (int, uint64, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return 0, 0, os.NewSyscallError("socket", err)
	}
	defer unix.Close(fd)
	req := make([]byte, unix.SizeofNlMsghdr+24)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	body := req[unix.SizeofNlMsghdr:]
	body[0] = unix.AF_UNIX
	ne.PutUint32(body[4:], ^uint32(0)) // every state
	ne.PutUint32(body[12:], udiagShowName|udiagShowUID)
	ne.PutUint32(body[16:], ^uint32(0)) // no cookie
	ne.PutUint32(body[20:], ^uint32(0))
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, 0, os.NewSyscallError("sendto", err)
	}
	want := "\x00" + key
	buf := make([]byte, 64<<10)
	found := false
	var uid int
	var ino uint64
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return 0, 0, os.NewSyscallError("recvfrom", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return 0, 0, fmt.Errorf("sock_diag reply: %w", err)
		}
		for _, m := range msgs {
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				if !found {
					return 0, 0, fmt.Errorf("name token %s: %w", key, os.ErrNotExist)
				}
				return uid, ino, nil
			case unix.NLMSG_ERROR:
				if len(m.Data) >= 4 {
					if e := int32(ne.Uint32(m.Data)); e != 0 {
						return 0, 0, os.NewSyscallError("sock_diag", unix.Errno(-e))
					}
				}
				continue
			}
			if found || len(m.Data) < 16 {
				continue
			}
			name, u, hasUID := diagAttrs(m.Data[16:])
			if name == want && hasUID {
				found, uid, ino = true, u, uint64(ne.Uint32(m.Data[4:]))
			}
		}
	}
}

// diagAttrs reads the name and creator attributes of one unix_diag_msg.
func diagAttrs(b []byte) (name string, uid int, hasUID bool) {
	ne := binary.NativeEndian
	for len(b) >= 4 {
		l := int(ne.Uint16(b[0:]))
		typ := ne.Uint16(b[2:])
		if l < 4 || l > len(b) {
			break
		}
		val := b[4:l]
		switch typ {
		case unixDiagName:
			name = string(val)
		case unixDiagUID:
			if len(val) >= 4 {
				uid, hasUID = int(ne.Uint32(val)), true
			}
		}
		b = b[min(len(b), (l+3)&^3):]
	}
	return name, uid, hasUID
}
