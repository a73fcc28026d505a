package ratelimit

import (
	"context"
	"sync"
	"testing"
	"time"

	"cardfile/internal/db/dbtest"
)

func allow(l Limiter, key string) bool {
	ok, err := l.Allow(context.Background(), key)
	if err != nil {
		panic(err)
	}
	return ok
}

func TestPerKeyLimitsEachKeyOnItsOwn(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	p := New(60, 3)
	p.now = func() time.Time { return now }
	for i := range 3 {
		if !allow(p, "a") {
			t.Fatalf("call %d of a burst of 3 refused", i+1)
		}
	}
	if allow(p, "a") {
		t.Fatal("a 4th call in the same instant was allowed")
	}
	if !allow(p, "b") {
		t.Fatal("another key was limited by a's calls")
	}
	now = now.Add(time.Second) // 60 a minute: one more token a second
	if !allow(p, "a") || allow(p, "a") {
		t.Fatal("a second later exactly one more call should pass")
	}
	now = now.Add(time.Hour)
	allow(p, "c")
	if _, kept := p.buckets["a"]; kept {
		t.Fatal("an idle key was not forgotten")
	}
}

// Two replicas on one PostgreSQL share their buckets: 35 calls to each, at
// once, answer 30 in all (the burst; the refill, a token a minute, adds none
// unless the test runs for minutes).
func TestReplicasShareTheirBuckets(t *testing.T) {
	d := dbtest.Open(t)
	if !dbtest.Postgres() {
		l := For(d, "login", 1, 30)
		if _, inProcess := l.(*PerKey); !inProcess {
			t.Fatalf("on SQLite the limiter is %T, want the in-process one", l)
		}
		return
	}
	var replicas []Limiter
	for range 2 {
		replicas = append(replicas, For(d, "login", 1, 30))
	}
	other := For(d, "form", 1, 30)
	start := time.Now()
	var mu sync.Mutex
	allowed := 0
	var wg sync.WaitGroup
	for _, l := range replicas {
		for range 35 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if allow(l, "203.0.113.7") {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	refill := int(time.Since(start) / time.Minute) // a token a minute
	if allowed < 30 || allowed > 30+refill {
		t.Fatalf("two replicas allowed %d of 70 calls; want 30 (+%d refill)", allowed, refill)
	}
	if !allow(replicas[0], "198.51.100.1") || !allow(other, "203.0.113.7") {
		t.Fatal("another key, or another limiter's same key, was limited too")
	}
}
