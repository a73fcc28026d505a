package apperr_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"cardfile/internal/apperr"

	"github.com/jackc/pgx/v5/pgconn"
	_ "modernc.org/sqlite"
)

// Errors that mean "the database cannot be reached" are SERVICE_UNAVAILABLE,
// however deeply wrapped; statement errors, a caller's own deadline and
// SQLite's lock contention are not; an explicit code always wins.
func TestUnavailableSaysOnlyOutagesAreOutages(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("looking up session: %w", err) }
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for _, tc := range []struct {
		name string
		err  error
		want apperr.Code
	}{
		{"connection refused", wrap(refused), apperr.ServiceUnavailable},
		{"could not connect at all", wrap(&pgconn.ConnectError{}), apperr.ServiceUnavailable},
		{"admin shutdown 57P01", wrap(&pgconn.PgError{Severity: "FATAL", Code: "57P01"}), apperr.ServiceUnavailable},
		{"crash shutdown 57P02", wrap(&pgconn.PgError{Code: "57P02"}), apperr.ServiceUnavailable},
		{"cannot connect now 57P03", wrap(&pgconn.PgError{Code: "57P03"}), apperr.ServiceUnavailable},
		{"connection failure 08006", wrap(&pgconn.PgError{Code: "08006"}), apperr.ServiceUnavailable},
		{"too many connections 53300", wrap(&pgconn.PgError{Code: "53300"}), apperr.ServiceUnavailable},
		{"bad connection", wrap(driver.ErrBadConn), apperr.ServiceUnavailable},
		{"connection done", wrap(sql.ErrConnDone), apperr.ServiceUnavailable},
		{"broken pipe", wrap(os.NewSyscallError("write", syscall.EPIPE)), apperr.ServiceUnavailable},
		{"reset by peer", wrap(os.NewSyscallError("read", syscall.ECONNRESET)), apperr.ServiceUnavailable},
		{"unexpected EOF", wrap(io.ErrUnexpectedEOF), apperr.ServiceUnavailable},
		{"unique violation 23505", wrap(&pgconn.PgError{Code: "23505"}), apperr.Internal},
		{"deadlock 40P01", wrap(&pgconn.PgError{Code: "40P01"}), apperr.Internal},
		{"statement timeout 57014", wrap(&pgconn.PgError{Code: "57014"}), apperr.Internal},
		{"the caller's deadline", wrap(context.DeadlineExceeded), apperr.Internal},
		{"the caller left", wrap(context.Canceled), apperr.Internal},
		{"no rows", wrap(sql.ErrNoRows), apperr.Internal},
		{"SQLite busy", wrap(sqliteLocked(t)), apperr.Internal},
		{"an explicit code wins", apperr.Wrap(refused, apperr.Unauthenticated, "sign in again"), apperr.Unauthenticated},
		{"nil", nil, apperr.Internal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := apperr.CodeOf(tc.err); got != tc.want {
				t.Errorf("CodeOf(%v) = %s, want %s", tc.err, got, tc.want)
			}
			if _, coded := apperr.As(tc.err); !coded {
				if got := apperr.Unavailable(tc.err); got != (tc.want == apperr.ServiceUnavailable) {
					t.Errorf("Unavailable(%v) = %v", tc.err, got)
				}
			}
		})
	}
}

// sqliteLocked is a real "database is locked": a second writer that may not wait.
func sqliteLocked(t *testing.T) error {
	t.Helper()
	path := filepath.Join(t.TempDir(), "locked.db")
	holder, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.Exec("CREATE TABLE t (x int)"); err != nil {
		t.Fatal(err)
	}
	tx, err := holder.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, err = other.Exec("INSERT INTO t VALUES (1)")
	if err == nil || !strings.Contains(err.Error(), "database is locked") {
		t.Fatalf("second writer: got %v, want database is locked", err)
	}
	return err
}
