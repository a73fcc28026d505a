// Package sealer encrypts secrets that cardfile must keep but never show,
// such as gateway card tokens, so a copy of the database alone cannot use
// them. AES-256-GCM with a key from the environment (or, for the embedded
// default, a key file beside the SQLite database).
package sealer

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

const prefix = "v1:"

// KeySize is the key length in bytes.
const KeySize = 32

// Sealer seals and opens secrets with one key.
type Sealer struct{ aead cipher.AEAD }

// New returns a Sealer for a 32-byte key.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("sealer key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts secret; purpose binds the ciphertext to its use, so a value
// sealed for one column cannot be replayed into another.
func (s *Sealer) Seal(secret, purpose string) (string, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("sealing: %w", err)
	}
	out := s.aead.Seal(nonce, nonce, []byte(secret), []byte(purpose))
	return prefix + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts a value made by Seal with the same purpose.
func (s *Sealer) Open(sealed, purpose string) (string, error) {
	raw, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return "", errors.New("opening: not a sealed value")
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(b) < s.aead.NonceSize() {
		return "", errors.New("opening: malformed sealed value")
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, b[:n], b[n:], []byte(purpose))
	if err != nil {
		return "", errors.New("opening: wrong key or tampered value")
	}
	return string(plain), nil
}

// ParseKey decodes a base64 (standard or URL) 32-byte key.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == KeySize {
			return k, nil
		}
	}
	return nil, fmt.Errorf("the key must be %d bytes, base64-encoded", KeySize)
}

// LoadOrCreateKeyFile reads the key at path, creating it (mode 0600) when it
// does not exist. Only for the embedded default: production passes the key
// in the environment.
func LoadOrCreateKeyFile(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil {
		return ParseKey(string(b))
	} else if !os.IsNotExist(err) {
		return nil, fmt.Errorf("reading key file: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating key folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if os.IsExist(err) { // another process made it first
			return LoadOrCreateKeyFile(path)
		}
		return nil, fmt.Errorf("creating key file: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		return nil, fmt.Errorf("writing key file: %w", err)
	}
	return key, nil
}
