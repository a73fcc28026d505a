package events

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"cardfile/internal/db"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"
)

// DefaultChannel is the PostgreSQL NOTIFY channel the replicas share.
const DefaultChannel = "cardfile_events"

// maxPayload is PostgreSQL's NOTIFY payload limit (payloads must be shorter
// than 8000 bytes); an Event encodes to well under 200.
const maxPayload = 8000

// maxChannel is the longest identifier PostgreSQL keeps (NAMEDATALEN - 1).
const maxChannel = 63

// Postgres is the broker for PostgreSQL, shared by every replica: Publish
// NOTIFYs inside the writing transaction, so PostgreSQL sends the event only
// on commit, and each process holds one LISTEN connection that hands every
// notification, its own included, to its subscribers. Every replica thus
// delivers each committed event exactly once.
//
// Payloads are the JSON-encoded Event (ids and kinds only), far below
// PostgreSQL's 8000-byte NOTIFY limit. PostgreSQL folds identical
// notifications of one transaction into one.
//
// Events committed while the listening connection is down are lost: the
// listener reconnects after the reconnect delay and logs a warning, and open
// screens catch up when they refetch (a reconnecting client refetches).
type Postgres struct {
	Fanout

	log            *slog.Logger
	channel        string
	reconnectDelay time.Duration

	ready   chan struct{} // closed once the first LISTEN succeeded
	listens atomic.Int64  // successful LISTENs, reconnects included
	cancel  context.CancelFunc
	done    chan struct{} // closed when the listener goroutine has ended

	// conn is the listener's latest connection; only the listener goroutine
	// touches it.
	conn *pgx.Conn
}

var _ Broker = (*Postgres)(nil)

// PostgresOption changes a Postgres broker's defaults.
type PostgresOption func(*Postgres)

// WithReconnectDelay sets how long the listener waits before reconnecting
// after losing its connection (default 1 s); d must be positive.
func WithReconnectDelay(d time.Duration) PostgresOption {
	return func(p *Postgres) {
		if d > 0 {
			p.reconnectDelay = d
		}
	}
}

// WithChannel sets the NOTIFY channel (default DefaultChannel). NOTIFY is per
// database, not per schema, so deployments or tests sharing a database keep
// apart by channel.
func WithChannel(name string) PostgresOption {
	return func(p *Postgres) { p.channel = name }
}

// NewPostgres starts this process's listener on the database at connString
// (a postgres:// URL, the app's DATABASE_URL). The listener runs until ctx
// ends or Close is called; Ready tells when it listens.
func NewPostgres(ctx context.Context, connString string, log *slog.Logger, opts ...PostgresOption) (*Postgres, error) {
	if log == nil {
		log = slog.Default()
	}
	p := &Postgres{
		log:            log,
		channel:        DefaultChannel,
		reconnectDelay: time.Second,
		ready:          make(chan struct{}),
		done:           make(chan struct{}),
	}
	for _, o := range opts {
		o(p)
	}
	if p.channel == "" || len(p.channel) > maxChannel {
		return nil, fmt.Errorf("events channel %q: must be 1 to %d bytes", p.channel, maxChannel)
	}
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("parsing events listener database URL: %w", err)
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "cardfile events listener"
	}

	l := &pgxlisten.Listener{
		Connect:        func(ctx context.Context) (*pgx.Conn, error) { return p.connect(ctx, cfg) },
		LogError:       p.logError,
		ReconnectDelay: p.reconnectDelay,
	}
	l.Handle(p.channel, listenHandler{p})

	ctx, p.cancel = context.WithCancel(ctx)
	go func() {
		defer close(p.done)
		_ = l.Listen(ctx) // returns only once ctx ends
		if p.conn != nil {
			// A connection closed by cancellation finishes closing in the
			// background; wait so that Close leaves nothing running.
			<-p.conn.PgConn().CleanupDone()
		}
	}()
	return p, nil
}

// Ready is closed once the listener first listens; events committed before
// that are not delivered by this process.
func (p *Postgres) Ready() <-chan struct{} { return p.ready }

// Close stops the listener and waits for it to end. Subscriptions stay open
// until their contexts end but receive nothing more.
func (p *Postgres) Close() {
	p.cancel()
	<-p.done
}

// Publish NOTIFYs e in tx, so that every replica, this one included, delivers
// it once tx commits; a rolled-back transaction sends nothing.
func (p *Postgres) Publish(ctx context.Context, tx *db.Tx, e Event) error {
	payload, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encoding event: %w", err)
	}
	if len(payload) >= maxPayload {
		return fmt.Errorf("event payload of %d bytes exceeds the NOTIFY limit", len(payload))
	}
	if _, err := tx.SQL.ExecContext(ctx, "SELECT pg_notify($1, $2)", p.channel, string(payload)); err != nil {
		return fmt.Errorf("notifying %s: %w", p.channel, err)
	}
	return nil
}

// connect opens the listener's connection, first letting the previous one
// finish closing.
func (p *Postgres) connect(ctx context.Context, cfg *pgx.ConnConfig) (*pgx.Conn, error) {
	if p.conn != nil {
		select {
		case <-p.conn.PgConn().CleanupDone():
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	p.conn = conn
	return conn, nil
}

func (p *Postgres) logError(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return // shutting down
	}
	p.log.Warn("events listener", "channel", p.channel, "err", err)
}

// listenHandler receives the listener's notifications for p.
type listenHandler struct{ p *Postgres }

// HandleBacklog runs after every successful LISTEN: the first one makes the
// broker ready; later ones follow an outage during which events were lost.
func (h listenHandler) HandleBacklog(_ context.Context, _ string, conn *pgx.Conn) error {
	if h.p.listens.Add(1) == 1 {
		close(h.p.ready)
		return nil
	}
	h.p.log.Warn("events listener reconnected; events committed while it was disconnected were not delivered, clients catch up when they refetch",
		"channel", h.p.channel, "backend_pid", conn.PgConn().PID())
	return nil
}

// HandleNotification hands one notification to this process's subscribers.
func (h listenHandler) HandleNotification(_ context.Context, n *pgconn.Notification, _ *pgx.Conn) error {
	var e Event
	if err := json.Unmarshal([]byte(n.Payload), &e); err != nil {
		h.p.log.Warn("events listener: ignoring a malformed notification",
			"channel", n.Channel, "sender_pid", n.PID, "bytes", len(n.Payload), "err", err)
		return nil
	}
	h.p.Deliver(e) // never blocks: slow subscribers miss events
	return nil
}
