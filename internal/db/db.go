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
	"sync/atomic"

	"cardfile/ent"
	"cardfile/ent/privacy"
	_ "cardfile/ent/runtime" // privacy policies and hooks
	"cardfile/internal/apperr"

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
	opts    []ent.Option
	drv     dialect.Driver
	probe   *sql.DB // Ping's own connection (PostgreSQL), nil: SQL
	hook    StatementHook
}

// StatementHook sees every statement ent sends, with the context it was sent
// under: tests count one request's statements by tagging its context, which
// background jobs' statements never carry.
type StatementHook func(ctx context.Context, statement string)

// Option configures Open.
type Option func(*DB)

// WithEnt passes options to the ent client.
func WithEnt(opts ...ent.Option) Option { return func(d *DB) { d.opts = append(d.opts, opts...) } }

// WithStatementHook calls hook with every statement ent sends.
func WithStatementHook(hook StatementHook) Option { return func(d *DB) { d.hook = hook } }

// traced wraps drv so the hook, if any, sees its statements.
func (d *DB) traced(drv dialect.Driver) dialect.Driver {
	if d.hook == nil {
		return drv
	}
	return dialect.DebugWithContext(drv, func(ctx context.Context, v ...any) { d.hook(ctx, fmt.Sprint(v...)) })
}

// IsPostgres reports whether url names a PostgreSQL database.
func IsPostgres(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// SQLiteURL is the DSN for a SQLite file with the pragmas cardfile relies on:
// foreign keys, WAL, a busy timeout, immediate write transactions, and every
// time written in UTC (times are compared as text in SQLite).
func SQLiteURL(path string) string {
	return "file:" + path + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate&_timezone=UTC"
}

// Open opens url: a postgres:// URL, a SQLite file: DSN, or a plain SQLite file path.
func Open(url string, opts ...Option) (*DB, error) {
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
	d := &DB{SQL: sqlDB, Dialect: dia}
	for _, o := range opts {
		o(d)
	}
	d.drv = d.traced(entsql.OpenDB(dia, sqlDB))
	d.Client = ent.NewClient(append([]ent.Option{ent.Driver(d.drv)}, d.opts...)...)
	if dia == dialect.Postgres {
		// One connection of Ping's own: a pool that is busy serving
		// requests must not look like a database that is gone.
		if d.probe, err = sql.Open(driver, dsn); err != nil {
			d.Close()
			return nil, fmt.Errorf("opening %s database: %w", dia, err)
		}
		d.probe.SetMaxOpenConns(1)
		d.probe.SetMaxIdleConns(1)
	}
	return d, nil
}

// Ping reports whether the database answers a round trip within ctx's
// deadline. A dead idle connection costs nothing: database/sql drops it
// and dials afresh, and a dial the server refuses fails at once.
func (d *DB) Ping(ctx context.Context) error {
	if d.probe != nil {
		return d.probe.PingContext(ctx)
	}
	return d.SQL.PingContext(ctx)
}

// Migrate brings the schema up to date. It is additive: nothing is dropped.
func (d *DB) Migrate(ctx context.Context) error {
	if d.Dialect == dialect.Postgres {
		// The customer filters' "contains" searches use trigram indexes.
		if _, err := d.SQL.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS pg_trgm"); err != nil {
			return fmt.Errorf("enabling pg_trgm: %w", err)
		}
		if err := createRateLimits(ctx, d.SQL); err != nil {
			return err
		}
	}
	if err := d.Schema.Create(privacy.DecisionContext(ctx, privacy.Allow)); err != nil {
		return fmt.Errorf("migrating schema: %w", err)
	}
	return nil
}

// Close closes the database.
func (d *DB) Close() error {
	if d.probe != nil {
		d.probe.Close()
	}
	return d.Client.Close()
}

// Tx is one database transaction, reachable both through ent and as the
// *sql.Tx underneath, so that other libraries (the job queue) can write in it.
type Tx struct {
	*ent.Client
	SQL      *sql.Tx
	onCommit []func()
}

// OnCommit runs f after the transaction commits, and never if it rolls back.
func (tx *Tx) OnCommit(f func()) { tx.onCommit = append(tx.onCommit, f) }

// Tx runs fn in a transaction, committing when fn returns nil and rolling
// back on an error or a panic.
func (d *DB) Tx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	sqlTx, err := d.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("starting transaction: %w", err)
	}
	drv := &inTx{Driver: d.traced(entsql.NewDriver(d.Dialect, entsql.Conn{ExecQuerier: sqlTx})), root: d.drv}
	defer drv.done.Store(true)
	tx := &Tx{Client: ent.NewClient(append([]ent.Option{ent.Driver(drv)}, d.opts...)...), SQL: sqlTx}
	defer func() {
		if p := recover(); p != nil {
			_ = sqlTx.Rollback()
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		if rerr := sqlTx.Rollback(); rerr != nil {
			return fmt.Errorf("%w (rollback: %v)", err, rerr)
		}
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	drv.done.Store(true)
	for _, f := range tx.onCommit {
		f()
	}
	return nil
}

// inTx runs ent on an open *sql.Tx: what ent opens as a nested transaction
// (for multi-statement writes) is that same transaction. Once the
// transaction has ended, entities it returned keep working: their lazy edge
// loads go to the database outside it.
type inTx struct {
	dialect.Driver
	root dialect.Driver
	done atomic.Bool
}

func (d *inTx) current() dialect.Driver {
	if d.done.Load() {
		return d.root
	}
	return d.Driver
}

func (d *inTx) Exec(ctx context.Context, query string, args, v any) error {
	return d.current().Exec(ctx, query, args, v)
}

func (d *inTx) Query(ctx context.Context, query string, args, v any) error {
	return d.current().Query(ctx, query, args, v)
}

func (d *inTx) Tx(ctx context.Context) (dialect.Tx, error) {
	if d.done.Load() {
		return d.root.Tx(ctx)
	}
	return dialect.NopTx(d.Driver), nil
}

func (d *inTx) BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	if d.done.Load() {
		return d.root.(interface {
			BeginTx(context.Context, *sql.TxOptions) (dialect.Tx, error)
		}).BeginTx(ctx, opts)
	}
	return dialect.NopTx(d.Driver), nil
}

func (*inTx) Close() error { return nil }

// NotFound turns ent's not-found into NOT_FOUND naming what was missing;
// other errors pass unchanged. Other companies' rows are filtered out by the
// privacy rules, so they get this same answer.
func NotFound(err error, what string) error {
	if ent.IsNotFound(err) {
		return apperr.NotFoundf("%s not found", what)
	}
	return err
}

// createRateLimits makes the table internal/ratelimit keeps its buckets in
// on PostgreSQL (SQLite counts in memory), under an advisory lock: replicas
// starting together would otherwise race in CREATE TABLE IF NOT EXISTS.
func createRateLimits(ctx context.Context, sqlDB *sql.DB) error {
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("creating the rate limit table: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	for _, stmt := range []string{
		`SELECT pg_advisory_xact_lock(hashtext('cardfile.rate_limits'))`,
		`CREATE TABLE IF NOT EXISTS rate_limits (
			key text PRIMARY KEY,
			tokens double precision NOT NULL,
			allowed boolean NOT NULL,
			updated_at timestamptz NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS rate_limits_updated_at ON rate_limits (updated_at)`,
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("creating the rate limit table: %w", err)
		}
	}
	return tx.Commit()
}
