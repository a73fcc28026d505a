// Package db is the one place that opens cardfile's database: SQLite
// (modernc, pure Go) by default, PostgreSQL (pgx) for a postgres:// URL.
package db

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"cardfile/ent"
	"cardfile/ent/privacy"
	_ "cardfile/ent/runtime" // privacy policies and hooks

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" database/sql driver
	_ "modernc.org/sqlite"             // "sqlite" database/sql driver
)

// DB is an open database: the ent client and the raw handle under it.
type DB struct {
	*ent.Client
	SQL     *sql.DB
	Dialect string // dialect.SQLite or dialect.Postgres
}

// IsPostgres reports whether url names a PostgreSQL database.
func IsPostgres(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// SQLiteURL is the DSN for a SQLite file with the pragmas cardfile relies on:
// foreign keys, WAL, a busy timeout and immediate write transactions.
func SQLiteURL(path string) string {
	return "file:" + path + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate"
}

// Open opens url: a postgres:// URL, a SQLite file: DSN, or a plain SQLite file path.
func Open(url string, opts ...ent.Option) (*DB, error) {
	driver, dsn, dia := "sqlite", url, dialect.SQLite
	switch {
	case IsPostgres(url):
		driver, dia = "pgx", dialect.Postgres
	case !strings.HasPrefix(url, "file:"):
		if err := os.MkdirAll(filepath.Dir(url), 0o700); err != nil {
			return nil, fmt.Errorf("creating database folder: %w", err)
		}
		dsn = SQLiteURL(url)
	}
	sqlDB, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("opening %s database: %w", dia, err)
	}
	if dia == dialect.SQLite {
		// One writer at a time is SQLite's rule; readers share WAL snapshots.
		sqlDB.SetMaxOpenConns(8)
		sqlDB.SetMaxIdleConns(8)
	} else {
		sqlDB.SetMaxOpenConns(20)
		sqlDB.SetMaxIdleConns(20)
	}
	if err := sqlDB.PingContext(context.Background()); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("connecting to %s database: %w", dia, err)
	}
	drv := entsql.OpenDB(dia, sqlDB)
	client := ent.NewClient(append([]ent.Option{ent.Driver(drv)}, opts...)...)
	return &DB{Client: client, SQL: sqlDB, Dialect: dia}, nil
}

// Migrate brings the schema up to date. It is additive: nothing is dropped.
func (d *DB) Migrate(ctx context.Context) error {
	if d.Dialect == dialect.Postgres {
		// The customer filters' "contains" searches use trigram indexes.
		if _, err := d.SQL.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS pg_trgm"); err != nil {
			return fmt.Errorf("enabling pg_trgm: %w", err)
		}
	}
	if err := d.Schema.Create(privacy.DecisionContext(ctx, privacy.Allow)); err != nil {
		return fmt.Errorf("migrating schema: %w", err)
	}
	return nil
}

// Close closes the database.
func (d *DB) Close() error { return d.Client.Close() }

// WithTx runs fn in a transaction, committing when fn returns nil and
// rolling back on an error or a panic.
func WithTx(ctx context.Context, client *ent.Client, fn func(tx *ent.Tx) error) (err error) {
	tx, err := client.Tx(ctx)
	if err != nil {
		return fmt.Errorf("starting transaction: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		if rerr := tx.Rollback(); rerr != nil {
			return fmt.Errorf("%w (rollback: %v)", err, rerr)
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}
