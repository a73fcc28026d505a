// Package dbtest opens a fresh, migrated database for a test. The same suite
// runs on both dialects: CARDFILE_TEST_DB=postgres selects PostgreSQL
// (CARDFILE_TEST_DATABASE_URL, or the local server), anything else SQLite.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"cardfile/ent"
	"cardfile/internal/db"
)

// DefaultPostgresURL is the local server every machine of this project runs.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Postgres reports whether the tests run on PostgreSQL.
func Postgres() bool { return os.Getenv("CARDFILE_TEST_DB") == "postgres" }

// PostgresURL is the server the PostgreSQL tests use.
func PostgresURL() string {
	if u := os.Getenv("CARDFILE_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// URL returns a database URL of its own for this test: a new SQLite file,
// or a new PostgreSQL schema (dropped when the test ends).
func URL(t testing.TB) string {
	t.Helper()
	if !Postgres() {
		return filepath.Join(t.TempDir(), "cardfile.db")
	}
	base := PostgresURL()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("opening PostgreSQL: %v", err)
	}
	defer admin.Close()
	ctx := context.Background()
	// Extensions live in public so every test schema can use them; racing
	// packages may both try to create it, which is harmless.
	_, _ = admin.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("creating test schema (is PostgreSQL running?): %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err == nil {
			_, _ = a.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			a.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parsing %s: %v", base, err)
	}
	q := u.Query()
	q.Set("search_path", schema+",public")
	u.RawQuery = q.Encode()
	return u.String()
}

// Open returns a fresh, migrated database for this test.
func Open(t testing.TB, opts ...ent.Option) *db.DB {
	t.Helper()
	d, err := db.Open(URL(t), db.WithEnt(opts...))
	if err != nil {
		t.Fatalf("opening test database: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(context.Background()); err != nil {
		t.Fatalf("migrating test database: %v", err)
	}
	return d
}
