package events

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"cardfile/internal/db"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"
)

// DefaultChannel is the PostgreSQL NOTIFY channel the replicas share.
const DefaultChannel = "cardfile_events"

// maxChannel is the longest identifier PostgreSQL keeps (NAMEDATALEN - 1).
const maxChannel = 63

// Postgres is the broker for PostgreSQL, shared by every replica. Publish
// records the event and NOTIFYs its company and seq inside the writing
// transaction, so PostgreSQL sends the notification only on commit. Each
// process holds one LISTEN connection; a notification makes it read that
// company's new rows once (Feed) and hand them to its subscribers. A
// notification for rows already read costs nothing, so a burst of commits
// costs about one read per replica.
//
// When the listening connection drops, the listener reconnects after the
// reconnect delay and then reads every company's rows it has not delivered
// (HandleBacklog), and tells open subscriptions to recheck their sessions:
// an outage delays events but loses none.
type Postgres struct {
	Feed

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

// ListenerApplicationName begins the application_name of every listener
// connection (unless connString sets one); the process id follows, so
// operators and tests can find one replica's listener in pg_stat_activity.
const ListenerApplicationName = "cardfile events listener"

// NewPostgres starts this process's listener on d, whose URL is connString
// (a postgres:// URL, the app's DATABASE_URL). The listener runs until ctx
// ends or Close is called; Ready tells when it listens.
func NewPostgres(ctx context.Context, d *db.DB, connString string, log *slog.Logger, opts ...PostgresOption) (*Postgres, error) {
	p := &Postgres{
		Feed:           newFeed(d, log),
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
		cfg.RuntimeParams["application_name"] = fmt.Sprintf("%s %d", ListenerApplicationName, os.Getpid())
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

// notice is a NOTIFY payload: a company's new seq, or a staff member
// whose sessions changed. Both fit far below the 8000-byte limit.
type notice struct {
	CompanyID int   `json:"co,omitempty"`
	Seq       int64 `json:"q,omitempty"`
	StaffID   int   `json:"st,omitempty"`
}

// Publish records e in tx and NOTIFYs its seq, so that every replica, this
// one included, reads and delivers it once tx commits; a rolled-back
// transaction records and sends nothing.
func (p *Postgres) Publish(ctx context.Context, tx *db.Tx, e Event) error {
	seq, err := record(ctx, p.db.Dialect, tx, e)
	if err != nil {
		return err
	}
	return p.notify(ctx, tx.SQL, notice{CompanyID: e.CompanyID, Seq: seq})
}

// StaffChanged NOTIFYs every replica that staffID's sessions changed.
func (p *Postgres) StaffChanged(ctx context.Context, staffID int) error {
	return p.notify(ctx, p.db.SQL, notice{StaffID: staffID})
}

func (p *Postgres) notify(ctx context.Context, ex interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, n notice) error {
	payload, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("encoding notification: %w", err)
	}
	if _, err := ex.ExecContext(ctx, "SELECT pg_notify($1, $2)", p.channel, string(payload)); err != nil {
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

// HandleBacklog runs after every successful LISTEN. The first marks where
// this process starts and makes the broker ready; later ones follow an
// outage: read every event committed meanwhile and have open subscriptions
// recheck their sessions (a logout's notification may have been lost). A
// failed read drops the connection, so that the next LISTEN tries again.
func (h listenHandler) HandleBacklog(ctx context.Context, _ string, conn *pgx.Conn) error {
	if h.p.listens.Load() == 0 {
		if err := h.p.markHeads(ctx); err != nil {
			return h.retry(ctx, conn, err)
		}
		h.p.listens.Add(1)
		close(h.p.ready)
		return nil
	}
	h.p.listens.Add(1)
	if err := h.p.catchUpAll(ctx); err != nil {
		return h.retry(ctx, conn, err)
	}
	h.p.signalStaff(0, true)
	h.p.log.Info("events listener reconnected and caught up", "channel", h.p.channel, "backend_pid", conn.PgConn().PID())
	return nil
}

// retry closes conn so that the listener reconnects and catches up.
func (h listenHandler) retry(ctx context.Context, conn *pgx.Conn, err error) error {
	_ = conn.Close(ctx)
	return err
}

// HandleNotification reads and delivers what a notification announces.
func (h listenHandler) HandleNotification(ctx context.Context, n *pgconn.Notification, conn *pgx.Conn) error {
	var msg notice
	if err := json.Unmarshal([]byte(n.Payload), &msg); err != nil {
		h.p.log.Warn("events listener: ignoring a malformed notification",
			"channel", n.Channel, "sender_pid", n.PID, "bytes", len(n.Payload), "err", err)
		return nil
	}
	if msg.StaffID != 0 {
		h.p.signalStaff(msg.StaffID, false)
		return nil
	}
	if err := h.p.catchUp(ctx, msg.CompanyID, msg.Seq); err != nil {
		return h.retry(ctx, conn, err)
	}
	return nil
}
