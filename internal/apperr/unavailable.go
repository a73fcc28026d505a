package apperr

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// RetryAfter is the Retry-After header (in seconds) of SERVICE_UNAVAILABLE
// answers: about how long a PostgreSQL restart or fail-over takes.
const RetryAfter = "2"

// MsgUnavailable is what clients are told while the database is unreachable.
const MsgUnavailable = "cardfile cannot reach its database right now; try again in a few seconds"

// Unavailable reports whether err says the database cannot be reached, as
// opposed to refusing a statement: no connection could be made (refused,
// reset, timed out), the server is shutting down or starting (57P01,
// 57P02, 57P03, too many connections), or a connection died under a
// statement (broken pipe, EOF, pgx's "conn closed", database/sql's bad or
// done connection). The
// request was fine and may succeed once the database is back. SQLite's
// "database is locked" is contention, not an outage, and is not matched.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var (
		connect *pgconn.ConnectError
		pg      *pgconn.PgError
		op      *net.OpError
	)
	switch {
	case errors.As(err, &connect):
		return true // whatever the reason, no session could be opened
	case errors.As(err, &pg):
		return strings.HasPrefix(pg.Code, "08") || // connection_exception
			pg.Code == "57P01" || pg.Code == "57P02" || pg.Code == "57P03" || // admin, crash shutdown; cannot connect now
			pg.Code == "53300" // too_many_connections
	case errors.As(err, &op):
		return true
	case pgconn.SafeToRetry(err) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded):
		// pgx never sent the statement: its connection had closed
		// ("conn closed") or the write failed. A caller's own deadline or
		// cancellation is no outage.
		return true
	}
	for _, e := range []error{
		driver.ErrBadConn, sql.ErrConnDone, io.ErrUnexpectedEOF,
		syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE,
		syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.ETIMEDOUT,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// WriteHTTP answers a request that never reached GraphQL execution with e,
// shaped as a GraphQL response, and the HTTP status given. A
// SERVICE_UNAVAILABLE answer also says when to retry.
func WriteHTTP(w http.ResponseWriter, status int, e *Error) {
	ext := map[string]string{"code": string(e.Code)}
	if e.Field != "" {
		ext["field"] = e.Field
	}
	if e.Code == ServiceUnavailable {
		w.Header().Set("Retry-After", RetryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{"message": e.Message, "extensions": ext}}})
}
