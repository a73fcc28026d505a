// Package ratelimit limits how often one client (by IP address) may call
// an operation: signing in, the public card-request form. Each key has a
// token bucket. On PostgreSQL the buckets live in the database, so any number
// of replicas together allow what one allows; on SQLite (one process owns the
// file) they live in memory.
package ratelimit

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"cardfile/internal/db"

	"entgo.io/ent/dialect"
	"golang.org/x/time/rate"
)

// Limiter decides whether a key may make a call now, and counts it.
type Limiter interface {
	Allow(ctx context.Context, key string) (bool, error)
}

// idle is how long a bucket is kept unused; by then it is full again for
// any rate this project uses, so forgetting it changes nothing.
const idle = 10 * time.Minute

// For returns the limiter named name (a key prefix in the shared table)
// allowing each key perMinute calls a minute on average, in bursts of burst:
// in the database on PostgreSQL, in memory otherwise.
func For(d *db.DB, name string, perMinute, burst int) Limiter {
	if d.Dialect != dialect.Postgres {
		return New(perMinute, burst)
	}
	return NewPostgres(d.SQL, name, perMinute, burst)
}

// PerKey holds a token bucket per key in memory, forgetting keys idle for a
// while so memory stays bounded.
type PerKey struct {
	mu      sync.Mutex
	every   rate.Limit
	burst   int
	buckets map[string]*bucket
	swept   time.Time
	now     func() time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// New allows each key perMinute calls a minute on average, with bursts of
// burst, counted in this process.
func New(perMinute, burst int) *PerKey {
	return &PerKey{
		every:   rate.Limit(float64(perMinute) / 60),
		burst:   burst,
		buckets: map[string]*bucket{},
		now:     time.Now,
	}
}

// Allow reports whether key may make a call now, and counts it.
func (p *PerKey) Allow(_ context.Context, key string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if now.Sub(p.swept) > idle {
		for k, b := range p.buckets {
			if now.Sub(b.seen) > idle {
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
	return b.lim.AllowN(now, 1), nil
}

// Postgres keeps the buckets in the rate_limits table: one upsert per call,
// timed by the database's clock so replicas' clocks need not agree.
type Postgres struct {
	sql       *sql.DB
	name      string
	perSecond float64
	burst     int
	mu        sync.Mutex
	swept     time.Time
}

// NewPostgres returns the limiter named name, on the rate_limits table
// that db.Migrate creates.
func NewPostgres(sqlDB *sql.DB, name string, perMinute, burst int) *Postgres {
	return &Postgres{sql: sqlDB, name: name, perSecond: float64(perMinute) / 60, burst: burst}
}

// allowSQL refills the bucket for the time since its last call (at most to
// burst), then takes a token if there is one; every expression of the SET
// sees the row as it was, and the row lock serializes concurrent callers.
const allowSQL = `
INSERT INTO rate_limits AS r (key, tokens, allowed, updated_at) VALUES ($1, $2 - 1, true, now())
ON CONFLICT (key) DO UPDATE SET
	allowed = LEAST($2, r.tokens + EXTRACT(EPOCH FROM now() - r.updated_at) * $3) >= 1,
	tokens = LEAST($2, r.tokens + EXTRACT(EPOCH FROM now() - r.updated_at) * $3)
		- CASE WHEN LEAST($2, r.tokens + EXTRACT(EPOCH FROM now() - r.updated_at) * $3) >= 1 THEN 1 ELSE 0 END,
	updated_at = now()
RETURNING allowed`

// Allow reports whether key may make a call now, and counts it.
func (p *Postgres) Allow(ctx context.Context, key string) (bool, error) {
	p.sweep(ctx)
	var allowed bool
	err := p.sql.QueryRowContext(ctx, allowSQL, p.name+":"+key, float64(p.burst), p.perSecond).Scan(&allowed)
	if err != nil {
		return false, fmt.Errorf("rate limit %s: %w", p.name, err)
	}
	return allowed, nil
}

// sweep deletes buckets idle long enough to be full again, at most once per
// idle period per process.
func (p *Postgres) sweep(ctx context.Context) {
	p.mu.Lock()
	due := time.Since(p.swept) > idle
	if due {
		p.swept = time.Now()
	}
	p.mu.Unlock()
	if due {
		_, _ = p.sql.ExecContext(ctx, `DELETE FROM rate_limits WHERE updated_at < now() - $1 * interval '1 second'`, idle.Seconds())
	}
}
