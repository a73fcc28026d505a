// Package ratelimit limits how often one client (by IP address) may call
// the public, token-scoped operations.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// PerKey holds a token bucket per key, forgetting keys idle for a while so
// memory stays bounded.
type PerKey struct {
	mu      sync.Mutex
	every   rate.Limit
	burst   int
	idle    time.Duration
	buckets map[string]*bucket
	swept   time.Time
	now     func() time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// New allows each key perMinute calls a minute on average, with bursts of burst.
func New(perMinute, burst int) *PerKey {
	return &PerKey{
		every:   rate.Limit(float64(perMinute) / 60),
		burst:   burst,
		idle:    10 * time.Minute,
		buckets: map[string]*bucket{},
		now:     time.Now,
	}
}

// Allow reports whether key may make a call now, and counts it.
func (p *PerKey) Allow(key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if now.Sub(p.swept) > p.idle {
		for k, b := range p.buckets {
			if now.Sub(b.seen) > p.idle {
				delete(p.buckets, k)
			}
		}
		p.swept = now
	}
	b := p.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(p.every, p.burst)}
		p.buckets[key] = b
	}
	b.seen = now
	return b.lim.AllowN(now, 1)
}
