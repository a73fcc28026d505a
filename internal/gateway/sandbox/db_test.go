package sandbox

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

const defaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// testDB is one empty database a test may open any number of times.
type testDB struct {
	dialect string
	driver  string
	dsn     string
}

// open returns a new handle on the database, closed when the test ends.
func (d testDB) open(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open(d.driver, d.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// eachDB runs fn on a fresh SQLite database and, when reachable, on a fresh
// PostgreSQL schema.
func eachDB(t *testing.T, fn func(t *testing.T, d testDB)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, sqliteDB(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, postgresDB(t)) })
}

func sqliteDB(t *testing.T) testDB {
	path := filepath.Join(t.TempDir(), "sandbox.db")
	return testDB{
		dialect: "sqlite",
		driver:  "sqlite",
		dsn:     "file:" + path + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_txlock=immediate",
	}
}

var (
	postgresOnce sync.Once
	postgresURL  string
	postgresErr  error
)

// postgresDB creates a schema of its own for the test, dropped afterwards;
// it skips when no server is configured or reachable (fails if one was configured).
func postgresDB(t *testing.T) testDB {
	t.Helper()
	postgresOnce.Do(func() {
		postgresURL = os.Getenv("CARDFILE_TEST_DATABASE_URL")
		if postgresURL == "" {
			postgresURL = defaultPostgresURL
		}
		db, err := sql.Open("pgx", postgresURL)
		if err != nil {
			postgresErr = err
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		postgresErr = db.PingContext(ctx)
	})
	if postgresErr != nil {
		if os.Getenv("CARDFILE_TEST_DATABASE_URL") != "" {
			t.Fatalf("CARDFILE_TEST_DATABASE_URL is set but unusable: %v", postgresErr)
		}
		t.Skipf("PostgreSQL not reachable at %s: %v", defaultPostgresURL, postgresErr)
	}

	b := make([]byte, 8)
	rand.Read(b)
	schema := "sb_test_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", postgresURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})

	u, err := url.Parse(postgresURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return testDB{dialect: "postgres", driver: "pgx", dsn: u.String()}
}

// testClock is a settable clock for WithClock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2026, time.March, 10, 12, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newGateway opens d and returns a sandbox gateway on it with clock c.
func newGateway(t *testing.T, d testDB, c *testClock, opts ...Option) *Gateway {
	t.Helper()
	g, err := New(d.open(t), d.dialect, "https://cardfile.test", append([]Option{WithClock(c.Now)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return g
}
