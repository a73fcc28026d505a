package events

import (
	"context"
	"fmt"
	"testing"
	"time"

	"cardfile/internal/db"
	"cardfile/internal/db/dbtest"

	"go.uber.org/goleak"
)

func TestFanoutDeliversPerCustomerAndNeverBlocks(t *testing.T) {
	defer goleak.VerifyNone(t)
	b := &Fanout{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reader := b.Subscribe(ctx, Cards, 1)
	slow := b.Subscribe(ctx, Cards, 1) // never read
	other := b.Subscribe(ctx, Cards, 2)

	published := make(chan struct{})
	go func() {
		for i := range 10 * subscriberBuffer {
			b.Deliver(Event{Topic: Cards, CustomerID: 1, ID: i, Kind: Added})
		}
		close(published)
	}()
	select {
	case <-published:
	case <-time.After(5 * time.Second):
		t.Fatal("the publisher blocked on subscribers that do not read")
	}
	if len(reader) != subscriberBuffer || len(slow) != subscriberBuffer || len(other) != 0 {
		t.Fatalf("buffered reader=%d slow=%d other=%d; want %d, %d, 0", len(reader), len(slow), len(other), subscriberBuffer, subscriberBuffer)
	}
	for range subscriberBuffer {
		<-reader
	}
	b.Deliver(Event{Topic: Cards, CustomerID: 1, ID: 999, Kind: Deleted})
	if e := <-reader; e.ID != 999 || e.Kind != Deleted {
		t.Fatalf("after catching up the reader got %+v", e)
	}
	cancel()
	for _, ch := range []<-chan Event{reader, slow, other} {
		for range ch { // each closes once the context ends
		}
	}
}

// openBroker returns a migrated database and the broker the app would run
// on it: Local on SQLite, a listening Postgres on PostgreSQL.
func openBroker(t *testing.T, ctx context.Context) (*db.DB, Broker) {
	t.Helper()
	if !dbtest.Postgres() {
		d := dbtest.Open(t)
		return d, NewLocal(d)
	}
	d, url := openPostgres(t)
	return d, startPostgres(t, ctx, d, url, testChannel(), nil)
}

// publishN publishes n card updates for customer, IDs from first on.
func publishN(t *testing.T, d *db.DB, b Broker, companyID, customerID, first, n int) {
	t.Helper()
	for i := range n {
		publish(t, d, b, Event{Topic: Cards, CompanyID: companyID, CustomerID: customerID, ID: first + i, Kind: Updated}, true)
	}
}

// watch is b.Watch, failing the test on an error.
func watch(t *testing.T, ctx context.Context, b Broker, customerID int, after string) <-chan Event {
	t.Helper()
	ch, err := b.Watch(ctx, Cards, 1, customerID, after)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	return ch
}

// next returns the next event on ch, failing after 5 s.
func next(t *testing.T, ch <-chan Event) Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("the stream ended")
		}
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
	}
	return Event{}
}

// A subscriber that drops and comes back with its cursor gets every event
// once and in order: those it missed from the table, then the live ones,
// even while changes keep committing around its reconnects.
func TestWatchAcrossReconnectsGetsEveryEventOnceInOrder(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, b := openBroker(t, ctx)
	const total = 120
	writing := make(chan error, 1)
	go func() {
		defer close(writing)
		for i := range total {
			err := d.Tx(ctx, func(tx *db.Tx) error {
				if err := b.Publish(ctx, tx, Event{Topic: Cards, CompanyID: 1, CustomerID: 7, ID: i, Kind: Updated}); err != nil {
					return err
				}
				// Noise the subscriber must not see: another customer, another topic.
				if err := b.Publish(ctx, tx, Event{Topic: Cards, CompanyID: 1, CustomerID: 8, ID: i, Kind: Updated}); err != nil {
					return err
				}
				return b.Publish(ctx, tx, Event{Topic: Requests, CompanyID: 1, CustomerID: 7, ID: i, Kind: "SENT"})
			})
			if err != nil {
				writing <- err
				return
			}
		}
	}()
	// The subscriber starts before the first event (seq 0) and disconnects
	// after every few events, resuming from its cursor.
	var got []int
	cursor := Event{Seq: 0}.Cursor()
	for len(got) < total {
		sctx, unsubscribe := context.WithCancel(ctx)
		ch := watch(t, sctx, b, 7, cursor)
		for range 1 + len(got)%7 {
			e := next(t, ch)
			if e.Kind == Resync {
				t.Fatalf("a kept cursor got RESYNC after %d events", len(got))
			}
			got = append(got, e.ID)
			cursor = e.Cursor()
			if len(got) == total {
				break
			}
		}
		unsubscribe()
	}
	if err := <-writing; err != nil {
		t.Fatal(err)
	}
	for i, id := range got {
		if id != i {
			t.Fatalf("event %d has id %d; got %v", i, id, got)
		}
	}
}

// A subscriber that reads slower than events come falls behind its buffer
// and rereads the table: it still gets every event once, in order.
func TestWatchSlowSubscriberLosesNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, b := openBroker(t, ctx)
	ch := watch(t, ctx, b, 3, "")
	const n = 5 * subscriberBuffer
	publishN(t, d, b, 1, 3, 0, n) // nobody reads meanwhile
	for i := range n {
		if e := next(t, ch); e.ID != i {
			t.Fatalf("event %d has id %d", i, e.ID)
		}
	}
	quiet(t, "after the last event", ch)
}

// A cursor from before the pruned window, a malformed one or one from the
// future gets RESYNC with a cursor to go on from; the stream then goes live.
func TestWatchResyncsCursorsItCannotServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, b := openBroker(t, ctx)
	first := watch(t, ctx, b, 5, "")
	publishN(t, d, b, 1, 5, 0, 3)
	old := next(t, first).Cursor()
	next(t, first)
	last := next(t, first)
	n, err := Prune(ctx, d, time.Now().Add(time.Hour))
	if err != nil || n != 3 {
		t.Fatalf("Prune = %d, %v; want 3 deleted", n, err)
	}
	// The newest cursor needs nothing pruned: it stays good.
	kept := watch(t, ctx, b, 5, last.Cursor())
	for _, cursor := range []string{old, "nonsense", "e1.-1", fmt.Sprintf("e1.%d", last.Seq+100)} {
		t.Run(cursor, func(t *testing.T) {
			sctx, unsubscribe := context.WithCancel(ctx)
			defer unsubscribe()
			ch := watch(t, sctx, b, 5, cursor)
			e := next(t, ch)
			if e.Kind != Resync || e.Seq != last.Seq || e.CustomerID != 5 || e.Topic != Cards {
				t.Fatalf("got %+v, want RESYNC at seq %d", e, last.Seq)
			}
		})
	}
	resynced := watch(t, ctx, b, 5, old)
	if e := next(t, resynced); e.Kind != Resync {
		t.Fatalf("got %+v, want RESYNC", e)
	}
	publishN(t, d, b, 1, 5, 10, 1)
	for name, ch := range map[string]<-chan Event{"after RESYNC": resynced, "with the newest cursor": kept} {
		if e := next(t, ch); e.ID != 10 || e.Kind != Updated {
			t.Fatalf("%s: got %+v, want the live event", name, e)
		}
	}
}

// StaffChanged reaches the staff member's watchers, and only theirs.
func TestStaffChangedSignalsTheStaffMembersWatchers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, b := openBroker(t, ctx)
	mine, other := b.WatchStaff(ctx, 1), b.WatchStaff(ctx, 2)
	if err := b.StaffChanged(ctx, 1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-mine:
	case <-time.After(5 * time.Second):
		t.Fatal("no signal within 5 s")
	}
	select {
	case <-other:
		t.Fatal("another staff member's watcher was signalled")
	case <-time.After(quietFor):
	}
}
