package ratelimit

import (
	"testing"
	"time"
)

func TestPerKeyLimitsEachKeyOnItsOwn(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	p := New(60, 3)
	p.now = func() time.Time { return now }
	for i := range 3 {
		if !p.Allow("a") {
			t.Fatalf("call %d of a burst of 3 refused", i+1)
		}
	}
	if p.Allow("a") {
		t.Fatal("a 4th call in the same instant was allowed")
	}
	if !p.Allow("b") {
		t.Fatal("another key was limited by a's calls")
	}
	now = now.Add(time.Second) // 60 a minute: one more token a second
	if !p.Allow("a") || p.Allow("a") {
		t.Fatal("a second later exactly one more call should pass")
	}
	now = now.Add(time.Hour)
	p.Allow("c")
	if _, kept := p.buckets["a"]; kept {
		t.Fatal("an idle key was not forgotten")
	}
}
