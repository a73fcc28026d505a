package sealer

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealRoundTripAndTamperDetection(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeySize)
	s, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal("sbct_secret", "credit_card.gateway_token")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "sbct_secret") {
		t.Fatalf("sealed value shows the secret: %s", sealed)
	}
	if got, err := s.Open(sealed, "credit_card.gateway_token"); err != nil || got != "sbct_secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := s.Open(sealed, "other.purpose"); err == nil {
		t.Fatal("a value sealed for one purpose opened for another")
	}
	other, _ := New(bytes.Repeat([]byte{8}, KeySize))
	if _, err := other.Open(sealed, "credit_card.gateway_token"); err == nil {
		t.Fatal("a value opened with the wrong key")
	}
	again, _ := s.Seal("sbct_secret", "credit_card.gateway_token")
	if again == sealed {
		t.Fatal("two seals of one secret are equal: the nonce is not random")
	}
	if _, err := New([]byte("short")); err == nil {
		t.Fatal("a short key was accepted")
	}
}

func TestKeyFileIsCreatedOnceAndReused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "token.key")
	k1, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1, k2) || len(k1) != KeySize {
		t.Fatalf("key changed between loads or has the wrong size")
	}
}
