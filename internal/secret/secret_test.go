package secret

import (
	"bytes"
	"strings"
	"testing"
)

func TestNewTokensAreRandomURLSafeAndHashed(t *testing.T) {
	a, ha := New("cfs_")
	b, _ := New("cfs_")
	if a == b || !strings.HasPrefix(a, "cfs_") || len(a) != len("cfs_")+43 || strings.ContainsAny(a, "+/=") {
		t.Fatalf("tokens %q, %q", a, b)
	}
	if !bytes.Equal(ha, Hash(a)) || bytes.Contains(ha, []byte(a)) || len(ha) != 32 {
		t.Fatal("the hash is not the SHA-256 of the token")
	}
}
