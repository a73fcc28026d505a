// Package secret makes the bearer secrets cardfile hands out (session
// tokens, card-request link tokens): 256 random bits, URL-safe, of which
// only the SHA-256 is ever stored.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// New returns prefix plus 256 random bits in URL-safe base64, and its hash.
func New(prefix string) (token string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b) // never fails: Go ≥ 1.24 crashes the program instead
	token = prefix + base64.RawURLEncoding.EncodeToString(b)
	return token, Hash(token)
}

// Hash is what tables store, and look tokens up by.
func Hash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
