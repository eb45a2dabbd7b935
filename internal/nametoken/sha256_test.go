package nametoken

import (
	"crypto/sha256"
	"math/rand/v2"
	"testing"
)

// TestSum256 checks sum256 against crypto/sha256 on every length up to a
// few blocks (the padding differs at 55, 56 and 64 bytes mod 64), and on
// random data.
func TestSum256(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 300 {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		if got, want := sum256(data), sha256.Sum256(data); got != want {
			t.Fatalf("sum256 of %d bytes %x = %x, want %x", n, data, got, want)
		}
	}
	big := make([]byte, 1<<16+7)
	for i := range big {
		big[i] = byte(r.Uint32())
	}
	if sum256(big) != sha256.Sum256(big) {
		t.Errorf("sum256 of %d bytes differs from crypto/sha256", len(big))
	}
}

// TestKeyIsStable pins Key: holders and checkers of different versions
// must derive the same token name.
func TestKeyIsStable(t *testing.T) {
	for _, tt := range []struct {
		uid         int
		scope, name string
		want        string
	}{
		{1000, "/run/user/1000/singleinstance", "bot", "singleinstance/1000/6a76f9f8c5a4962ab46118413f1a6a10"},
		{0, "", "bot", "singleinstance/0/508f3bc9db02ff27bb70bcbf414b978d"},
	} {
		if got := Key(tt.uid, tt.scope, tt.name); got != tt.want {
			t.Errorf("Key(%d, %q, %q) = %q, want %q", tt.uid, tt.scope, tt.name, got, tt.want)
		}
	}
}
