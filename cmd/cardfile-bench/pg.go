package main

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"testing"

	"cardfile/internal/db/dbtest"
)

// runner lets dbtest's test helpers (a private PostgreSQL) run in a
// command: a failure panics with fatal, which main reports, and cleanups run
// when the command ends. Only the methods those helpers call are provided.
type runner struct {
	testing.TB
	cleanups []func()
}

// fatal is a helper's t.Fatal in this command.
type fatal string

func (r *runner) Helper()                         {}
func (r *runner) Name() string                    { return "cardfile-bench" }
func (r *runner) Cleanup(f func())                { r.cleanups = append(r.cleanups, f) }
func (r *runner) Logf(format string, args ...any) { log.Printf(format, args...) }
func (r *runner) Errorf(format string, args ...any) {
	log.Printf(format, args...)
}
func (r *runner) Fatal(args ...any)                 { panic(fatal(fmt.Sprint(args...))) }
func (r *runner) Fatalf(format string, args ...any) { panic(fatal(fmt.Sprintf(format, args...))) }
func (r *runner) Skipf(format string, args ...any)  { panic(fatal(fmt.Sprintf(format, args...))) }

// close runs the cleanups, newest first.
func (r *runner) close() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	r.cleanups = nil
}

// privatePostgres starts a PostgreSQL of the benchmark's own with
// pg_stat_statements loaded (it needs shared_preload_libraries, so a
// restart, which the shared server must never get) and returns its URL.
func privatePostgres(ctx context.Context, r *runner) string {
	c := dbtest.PrivatePostgres(r)
	conn, err := sql.Open("pgx", c.URL())
	if err != nil {
		r.Fatal(err)
	}
	for _, s := range []string{
		"ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'",
		"ALTER SYSTEM SET max_connections = 300",
		"ALTER SYSTEM SET shared_buffers = '256MB'",
		"ALTER SYSTEM SET synchronous_commit = off",
	} {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			r.Fatalf("%s: %v", s, err)
		}
	}
	conn.Close()
	c.Stop()
	c.Start()
	if os.Getenv("CARDFILE_BENCH_PG_LOG") != "" {
		r.Cleanup(func() { fmt.Fprintln(os.Stderr, c.Log()) })
	}
	return c.URL()
}

// statStatements reads and resets PostgreSQL's own statement counters, when
// the pg_stat_statements extension can be created (it is loaded).
type statStatements struct{ db *sql.DB }

func openStatStatements(ctx context.Context, url string) (*statStatements, error) {
	conn, err := sql.Open("pgx", url)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
		conn.Close()
		return nil, fmt.Errorf("pg_stat_statements: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "SELECT pg_stat_statements_reset()"); err != nil {
		conn.Close()
		return nil, fmt.Errorf("pg_stat_statements is not loaded (shared_preload_libraries): %w", err)
	}
	return &statStatements{db: conn}, nil
}

func (s *statStatements) reset(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, "SELECT pg_stat_statements_reset()")
	return err
}

// statement is one normalised statement and how often it ran.
type statement struct {
	Query  string
	Calls  int64
	MeanMS float64 // mean execution time in the server
}

// counted returns the statements run since the last reset by requests:
// without the job queue's (river_ tables), the event listener's, the
// transaction brackets, and this connection's own.
func (s *statStatements) counted(ctx context.Context) ([]statement, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT query, calls, mean_exec_time FROM pg_stat_statements
		WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND query !~* 'river_|pg_stat_statements|^\s*(BEGIN|COMMIT|ROLLBACK|LISTEN|UNLISTEN|SET|SHOW|SAVEPOINT|RELEASE)|pg_try_advisory|pg_notify.*river'
		ORDER BY calls DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []statement
	for rows.Next() {
		var st statement
		if err := rows.Scan(&st.Query, &st.Calls, &st.MeanMS); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

func (s *statStatements) close() { s.db.Close() }
