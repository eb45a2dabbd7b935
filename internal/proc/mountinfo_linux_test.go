package proc

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestPlaceOf(t *testing.T) {
	root := unix.Mkdev(254, 0)
	tmp := unix.Mkdev(0, 30)
	ms := []mount{
		{id: 1, dev: root, root: "/", point: "/"},
		{id: 2, dev: tmp, root: "/", point: "/tmp"},
		{id: 3, dev: root, root: "/srv/data", point: "/data"},
		{id: 4, dev: root, root: "/home/a b", point: "/mnt/x"},
		{id: 5, dev: root, root: "/private/tmp", point: "/tmp"}, // over mount 2
	}
	for _, tc := range []struct {
		path string
		want fsPlace
	}{
		{"/etc/x.lock", fsPlace{root, "/etc/x.lock"}},
		{"/data/locks/x.lock", fsPlace{root, "/srv/data/locks/x.lock"}},
		{"/database/x.lock", fsPlace{root, "/database/x.lock"}},
		{"/mnt/x/y", fsPlace{root, "/home/a b/y"}},
		{"/tmp/x.lock", fsPlace{root, "/private/tmp/x.lock"}},
		{"/", fsPlace{root, "/"}},
	} {
		if got, ok := placeOf(ms, tc.path); !ok || got != tc.want {
			t.Errorf("placeOf(%q) = %+v, %v; want %+v", tc.path, got, ok, tc.want)
		}
	}
	if got, ok := placeVia(ms, 2, "/tmp/x.lock"); !ok || got != (fsPlace{tmp, "/x.lock"}) {
		t.Errorf("placeVia(2) = %+v, %v", got, ok)
	}
	if _, ok := placeVia(ms, 3, "/tmp/x.lock"); ok {
		t.Error("placeVia places a path outside the mount")
	}
	if _, ok := placeVia(ms, 9, "/x"); ok {
		t.Error("placeVia places a path through a mount that is not there")
	}
}

func TestUnescapeMountField(t *testing.T) {
	for in, want := range map[string]string{
		`/home/a\040b`: "/home/a b", `/x\011y\012z\134`: "/x\ty\nz\\", `/plain`: "/plain", `/bad\04`: `/bad\04`, `/bad\999`: `/bad\999`,
	} {
		if got := unescapeMountField(in); got != want {
			t.Errorf("unescapeMountField(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadMountsSelf(t *testing.T) {
	ms, err := readMounts("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	p, ok := placeOf(ms, "/proc/self")
	if !ok || p.path != "/self" {
		t.Errorf("/proc/self is at %+v, %v in its file system; want /self", p, ok)
	}
}

func TestMemberOf(t *testing.T) {
	passwd := []byte("root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/home/bob:/bin/sh\nbad:x:1002:nope::/:/bin/sh\n")
	groups := []byte("root:x:0:\nteam:x:2000:carol,alice\nbob:x:1001:\nlong:x:2001:alicex,xalice\n")
	for _, tc := range []struct {
		uid, gid uint32
		want     bool
	}{
		{1000, 1000, true},  // primary group
		{1000, 2000, true},  // listed member
		{1001, 2000, false}, // not listed
		{1000, 2001, false}, // names that merely contain hers
		{1002, 1002, false}, // unreadable entry
		{4242, 2000, false}, // no such user
	} {
		if got := memberOf(passwd, groups, tc.uid, tc.gid); got != tc.want {
			t.Errorf("memberOf(uid %d, gid %d) = %v, want %v", tc.uid, tc.gid, got, tc.want)
		}
	}
}
