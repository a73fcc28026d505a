package events

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"cardfile/internal/db"
	"cardfile/internal/db/dbtest"

	"go.uber.org/goleak"
)

// quietFor is how long a test waits to be sure that no (further) event comes.
const quietFor = 300 * time.Millisecond

// openPostgres skips unless the suite runs on PostgreSQL, and returns a
// migrated database of the test's own with its URL.
func openPostgres(t *testing.T) (*db.DB, string) {
	t.Helper()
	if !dbtest.Postgres() {
		t.Skip("PostgreSQL only (CARDFILE_TEST_DB=postgres)")
	}
	url := dbtest.URL(t)
	d, err := db.Open(url)
	if err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(context.Background()); err != nil {
		t.Fatalf("migrating: %v", err)
	}
	return d, url
}

// testChannel is a NOTIFY channel of the test's own: NOTIFY is per database,
// and other packages' tests share it.
func testChannel() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "cardfile_events_test_" + hex.EncodeToString(b)
}

// startPostgres starts a broker (one replica) and waits until it listens.
func startPostgres(t *testing.T, ctx context.Context, d *db.DB, url, channel string, log *slog.Logger) *Postgres {
	t.Helper()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p, err := NewPostgres(ctx, d, url, log, WithChannel(channel), WithReconnectDelay(50*time.Millisecond))
	if err != nil {
		t.Fatalf("NewPostgres: %v", err)
	}
	t.Cleanup(p.Close)
	select {
	case <-p.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the broker did not start listening within 10 s")
	}
	return p
}

var errRollBack = errors.New("rolling back on purpose")

// publish publishes e through b in a transaction that commits or rolls back.
func publish(t *testing.T, d *db.DB, b Broker, e Event, commit bool) {
	t.Helper()
	err := d.Tx(context.Background(), func(tx *db.Tx) error {
		if err := b.Publish(context.Background(), tx, e); err != nil {
			return err
		}
		if !commit {
			return errRollBack
		}
		return nil
	})
	if commit && err != nil || !commit && !errors.Is(err, errRollBack) {
		t.Fatalf("publishing %+v (commit %v): %v", e, commit, err)
	}
}

// receive waits for want on ch, whatever its Seq (which must be set).
func receive(t *testing.T, name string, ch <-chan Event, want Event) Event {
	t.Helper()
	select {
	case got := <-ch:
		seq := got.Seq
		got.Seq = 0
		if got != want || seq <= 0 {
			t.Fatalf("%s received %+v (seq %d), want %+v", name, got, seq, want)
		}
		got.Seq = seq
		return got
	case <-time.After(5 * time.Second):
		t.Fatalf("%s received nothing within 5 s, want %+v", name, want)
	}
	return Event{}
}

func quiet(t *testing.T, name string, ch <-chan Event) {
	t.Helper()
	select {
	case got := <-ch:
		t.Fatalf("%s received %+v, want nothing", name, got)
	case <-time.After(quietFor):
	}
}

// logBuffer collects a broker's log lines; the listener writes from its own goroutine.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func TestPostgresDeliversCommittedEventsOnceOnEveryReplica(t *testing.T) {
	d, url := openPostgres(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	channel := testChannel()
	a := startPostgres(t, ctx, d, url, channel, nil)
	b := startPostgres(t, ctx, d, url, channel, nil)
	onA := a.Subscribe(ctx, Cards, 7)
	onB := b.Subscribe(ctx, Cards, 7)
	otherCustomer := b.Subscribe(ctx, Cards, 8)
	otherTopic := b.Subscribe(ctx, Requests, 7)

	e := Event{Topic: Cards, CompanyID: 1, CustomerID: 7, ID: 42, Kind: Added}
	err := d.Tx(ctx, func(tx *db.Tx) error {
		if err := a.Publish(ctx, tx, e); err != nil {
			return err
		}
		quiet(t, "A before commit", onA)
		return nil
	})
	if err != nil {
		t.Fatalf("publishing: %v", err)
	}
	receive(t, "A (the publishing replica)", onA, e)
	receive(t, "B (another replica)", onB, e)
	// Nothing more of e comes: NOTIFY delivers in commit order, so a second
	// copy, or a copy to the wrong subscriber, would arrive before these later
	// events do, and no quiet spell has to be guessed.
	later := Event{Topic: Cards, CompanyID: 1, CustomerID: 7, ID: 43, Kind: Updated}
	toOtherCustomer := Event{Topic: Cards, CompanyID: 1, CustomerID: 8, ID: 44, Kind: Updated}
	onOtherTopic := Event{Topic: Requests, CompanyID: 1, CustomerID: 7, ID: 45, Kind: "CANCELLED"}
	for _, m := range []Event{later, toOtherCustomer, onOtherTopic} {
		publish(t, d, a, m, true)
	}
	receive(t, "A, next", onA, later)
	receive(t, "B, next", onB, later)
	receive(t, "another customer, first", otherCustomer, toOtherCustomer)
	receive(t, "another topic, first", otherTopic, onOtherTopic)
}

func TestPostgresRolledBackTransactionSendsNothing(t *testing.T) {
	d, url := openPostgres(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := startPostgres(t, ctx, d, url, testChannel(), nil)
	sub := p.Subscribe(ctx, Requests, 5)

	publish(t, d, p, Event{Topic: Requests, CompanyID: 1, CustomerID: 5, ID: 1, Kind: "CANCELLED"}, false)
	// Had the rolled-back event gone out, it would arrive before this one.
	committed := Event{Topic: Requests, CompanyID: 1, CustomerID: 5, ID: 2, Kind: "COMPLETED"}
	publish(t, d, p, committed, true)
	receive(t, "after a commit", sub, committed)
}

func TestPostgresIgnoresMalformedNotifications(t *testing.T) {
	d, url := openPostgres(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &logBuffer{}
	channel := testChannel()
	p := startPostgres(t, ctx, d, url, channel, slog.New(slog.NewTextHandler(logs, nil)))
	sub := p.Subscribe(ctx, Cards, 9)

	if _, err := d.SQL.ExecContext(ctx, "SELECT pg_notify($1, 'not json')", channel); err != nil {
		t.Fatalf("notifying: %v", err)
	}
	e := Event{Topic: Cards, CompanyID: 1, CustomerID: 9, ID: 3, Kind: Deleted}
	publish(t, d, p, e, true)
	receive(t, "the subscriber", sub, e) // an event made of the bad payload would come first
	if !strings.Contains(logs.String(), "malformed notification") {
		t.Fatalf("the malformed payload was not logged; logs:\n%s", logs)
	}
}

// An event committed while the listener is disconnected is read from the
// table when it listens again: no later notification is needed.
func TestPostgresCatchesUpAfterLosingItsConnection(t *testing.T) {
	d, url := openPostgres(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &logBuffer{}
	channel := testChannel()
	// A long reconnect delay leaves time to commit during the outage.
	p, err := NewPostgres(ctx, d, url, slog.New(slog.NewTextHandler(logs, nil)), WithChannel(channel), WithReconnectDelay(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	<-p.Ready()
	sub := p.Subscribe(ctx, Cards, 4)

	// pgxlisten's last statement on its connection is `listen "<channel>"`.
	var pid int
	err = d.SQL.QueryRowContext(ctx, `SELECT pid FROM pg_stat_activity
		WHERE datname = current_database() AND query = $1 AND pid <> pg_backend_pid()`, `listen "`+channel+`"`).Scan(&pid)
	if err != nil {
		t.Fatalf("finding the listener: %v", err)
	}
	var ok bool
	if err := d.SQL.QueryRowContext(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminating the listener: %v %v", ok, err)
	}
	for gone := false; !gone; {
		if err := d.SQL.QueryRowContext(ctx, `SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)`, pid).Scan(&gone); err != nil {
			t.Fatal(err)
		}
	}
	e := Event{Topic: Cards, CompanyID: 1, CustomerID: 4, ID: 8, Kind: PrimaryChanged}
	publish(t, d, p, e, true)
	if n := p.listens.Load(); n != 1 {
		t.Fatalf("the listener had listened %d times when the event committed; the test wants it down", n)
	}
	receive(t, "the subscriber after the reconnect", sub, e)
	if p.listens.Load() != 2 {
		t.Fatalf("listens = %d, want 2", p.listens.Load())
	}
	if !strings.Contains(logs.String(), "msg=\"events listener reconnected and caught up") {
		t.Fatalf("the reconnect was not logged; logs:\n%s", logs)
	}
}

func TestPostgresLeavesNoGoroutinesBehind(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(p *Postgres, cancel context.CancelFunc)
	}{
		{"Close", func(p *Postgres, _ context.CancelFunc) { p.Close() }},
		{"context ends", func(_ *Postgres, cancel context.CancelFunc) { cancel() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, url := openPostgres(t)
			// The database's own pool goroutines predate the snapshot.
			ignore := goleak.IgnoreCurrent()
			ctx, cancel := context.WithCancel(context.Background())
			p, err := NewPostgres(ctx, d, url, slog.New(slog.DiscardHandler), WithChannel(testChannel()))
			if err != nil {
				t.Fatalf("NewPostgres: %v", err)
			}
			select {
			case <-p.Ready():
			case <-time.After(10 * time.Second):
				t.Fatal("the broker did not start listening within 10 s")
			}
			subCtx, unsubscribe := context.WithCancel(context.Background())
			sub := p.Subscribe(subCtx, Cards, 1)
			e := Event{Topic: Cards, CompanyID: 1, CustomerID: 1, ID: 1, Kind: Updated}
			publish(t, d, p, e, true)
			receive(t, "the subscriber", sub, e)
			unsubscribe()

			tc.stop(p, cancel)
			if tc.name == "Close" {
				// Close waits: nothing of the listener is left, not even briefly.
				buf := make([]byte, 1<<20)
				stacks := string(buf[:runtime.Stack(buf, true)])
				for _, pkg := range []string{"pgxlisten.", "pgconn.", "events.NewPostgres"} {
					if strings.Contains(stacks, pkg) {
						t.Fatalf("a %s goroutine still runs after Close:\n%s", pkg, stacks)
					}
				}
			}
			goleak.VerifyNone(t, ignore)
			p.Close() // also fine after the context ended, and a second time
			cancel()
		})
	}
}

func TestNewPostgresRejectsBadSettings(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		opts      []PostgresOption
	}{
		{"unparsable URL", "postgres://host:notaport/db", nil},
		{"empty channel", "postgres://127.0.0.1/db", []PostgresOption{WithChannel("")}},
		{"channel longer than 63 bytes", "postgres://127.0.0.1/db", []PostgresOption{WithChannel(strings.Repeat("c", 64))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPostgres(context.Background(), nil, tc.url, nil, tc.opts...)
			if err == nil {
				p.Close()
				t.Fatal("NewPostgres accepted it")
			}
		})
	}
}
