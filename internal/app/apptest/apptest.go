// Package apptest holds what every end-to-end test of cardfile starts from:
// app options for a database of its own, a random token key, cheap password
// hashing, a quick job queue, and a log that is kept for inspection.
package apptest

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"log/slog"
	"sync"
	"testing"
	"time"

	"cardfile/internal/app"
	"cardfile/internal/auth"
	"cardfile/internal/db/dbtest"
	"cardfile/internal/jobs"

	"github.com/riverqueue/river/rivertype"
	"golang.org/x/crypto/bcrypt"
)

// Log is a log buffer safe for concurrent writers.
type Log struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Log) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }

// String is everything logged so far.
func (l *Log) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// Options returns app options for t, logging at debug level into log.
func Options(t testing.TB, log *Log) app.Options {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	ac := auth.DefaultConfig()
	ac.BcryptCost = bcrypt.MinCost
	return app.Options{
		DatabaseURL: dbtest.URL(t),
		PublicURL:   "http://cardfile.test",
		Log:         slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		TokenKey:    key,
		Auth:        ac,
		Jobs:        jobs.Options{PollInterval: 20 * time.Millisecond, ExpiryInterval: 50 * time.Millisecond, RetryPolicy: quickRetry{}},
	}
}

// quickRetry retries failed jobs after 50 ms, so retry tests take moments.
type quickRetry struct{}

func (quickRetry) NextRetry(*rivertype.JobRow) time.Time {
	return time.Now().Add(50 * time.Millisecond)
}

// JobsFinished reports whether jobs of kind were queued and every one has
// reached a final state (completed, cancelled or discarded), so none of them
// will run again: the signal a test waits on before it asserts that
// something happened exactly once, instead of sleeping "long enough".
func JobsFinished(t testing.TB, db *sql.DB, kind string) bool {
	t.Helper()
	var unfinished, all int
	err := db.QueryRowContext(context.Background(), `SELECT
		COUNT(*) FILTER (WHERE state NOT IN ('completed', 'cancelled', 'discarded')), COUNT(*)
		FROM river_job WHERE kind = $1`, kind).Scan(&unfinished, &all)
	if err != nil {
		t.Fatalf("reading the %s jobs: %v", kind, err)
	}
	return all > 0 && unfinished == 0
}
