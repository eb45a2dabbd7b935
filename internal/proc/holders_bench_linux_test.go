package proc_test

import (
	"os"
	"testing"

	"github.com/singleinstance/singleinstance/internal/proc"
)

func BenchmarkHolders(b *testing.B) {
	for b.Loop() {
		proc.Holders(proc.NameLock{Base: "x.lock", Sock: 1, Ino: 1})
	}
}

func BenchmarkDescendants(b *testing.B) {
	for b.Loop() {
		proc.Descendants(os.Getpid())
	}
}
