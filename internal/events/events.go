// Package events tells open screens that something changed, and lets a
// screen that was away catch up without losing or repeating anything.
//
// Every event is a row of the events table, written in the transaction of
// the change, numbered by a per-company sequence. Payloads are ids and kinds;
// subscribers load the rest through privacy-checked queries.
//
// # Why a per-company counter row
//
// The sequence comes from the company's event_sequences row, incremented in
// the writing transaction (an upsert). Its row lock is held until commit, so
// two writers of one company commit in the order of their numbers: once seq
// n is visible, every seq below it is visible too (or was rolled back and
// never will be). Readers can therefore read "seq > last seen" and never skip
// an event that commits late. A global identity column would not give that:
// ids are handed out at insert, commits land in any order, and a reader would
// need "read only up to the oldest open transaction" logic to avoid skipping.
// The cost is that one company's writers serialize from their Publish to
// their commit; they mostly do already (the customer lock), Publish comes
// last in each transaction, and other companies never wait.
//
// # Delivery
//
// Each process reads each new event once from the table and hands it to its
// local subscribers (Fanout). On SQLite (Local) the read follows the commit;
// on PostgreSQL (Postgres) the transaction NOTIFYs the company and sequence,
// and the listener reads what is new; after the listener reconnects it reads
// everything it missed. A subscriber given a cursor replays the kept events
// after it, then goes live, skipping what the replay already sent (Watch).
// Old rows are pruned (Prune); a cursor from before the pruned mark, or one
// that does not parse, gets a Resync event: the client refetches.
package events

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"cardfile/internal/db"
)

// Topic is what changed.
type Topic string

// The topics.
const (
	Cards    Topic = "cards"
	Requests Topic = "requests"
	// Payments: a payment was settled; its kind is the payment's status.
	Payments Topic = "payments"
)

// Kind is what happened: for cards one of the constants below, for card
// requests the request's new status.
type Kind string

// The card event kinds of DESIGN.md §4.
const (
	Added          Kind = "ADDED"
	Updated        Kind = "UPDATED"
	Deleted        Kind = "DELETED"
	PrimaryChanged Kind = "PRIMARY_CHANGED"
)

// Resync tells a subscriber that events it asked for are gone (or its cursor
// made no sense): it must refetch. Its Seq is where the stream resumes.
const Resync Kind = "RESYNC"

// Event says that one of a customer's cards or card requests changed.
type Event struct {
	Topic      Topic `json:"t"`
	CompanyID  int   `json:"co"`
	CustomerID int   `json:"cu"`
	ID         int   `json:"id"`
	Kind       Kind  `json:"k"`
	// Seq is the event's place in its company's sequence, set by Publish.
	Seq int64 `json:"q,omitempty"`
}

// Cursor is where a subscriber that has seen e resumes.
func (e Event) Cursor() string { return cursorPrefix + strconv.FormatInt(e.Seq, 10) }

const cursorPrefix = "e1."

// parseCursor reads a Cursor; ok is false for anything else.
func parseCursor(s string) (seq int64, ok bool) {
	rest, found := strings.CutPrefix(s, cursorPrefix)
	if !found {
		return 0, false
	}
	seq, err := strconv.ParseInt(rest, 10, 64)
	return seq, err == nil && seq >= 0
}

// Broker publishes committed changes and delivers them to subscribers.
type Broker interface {
	// Publish records e in tx and delivers it once tx commits; a
	// rolled-back transaction records and sends nothing.
	Publish(ctx context.Context, tx *db.Tx, e Event) error
	// Watch delivers a customer's events on topic until ctx ends, in order
	// and each once: first those after cursor after (none when after is
	// empty), then live ones. See Feed.Watch.
	Watch(ctx context.Context, topic Topic, companyID, customerID int, after string) (<-chan Event, error)
	// Subscribe delivers a customer's live events on topic, without
	// replay; a subscriber that falls behind its buffer misses some. For
	// tests and in-process observers; screens use Watch.
	Subscribe(ctx context.Context, topic Topic, customerID int) <-chan Event
	// StaffChanged tells every process that a staff member's sessions or
	// rights changed (logout, deactivation, a new role): their open
	// subscriptions recheck their session at once.
	StaffChanged(ctx context.Context, staffID int) error
	// WatchStaff signals each time StaffChanged names staffID (and after
	// an outage in which such a signal may have been lost), until ctx ends.
	WatchStaff(ctx context.Context, staffID int) <-chan struct{}
}

// subscriberBuffer is how many events a subscriber may fall behind the
// fanout before it rereads the table (Watch) or misses some (Subscribe).
const subscriberBuffer = 16

type key struct {
	topic      Topic
	customerID int
}

// subscriber is one Fanout subscription.
type subscriber struct {
	ch chan Event
	// lagged is set when an event did not fit in ch.
	lagged atomic.Bool
}

// Fanout delivers events to this process's subscribers, never blocking the
// sender. Every broker uses one.
type Fanout struct {
	mu    sync.Mutex
	subs  map[key]map[*subscriber]struct{}
	staff map[int]map[chan struct{}]struct{}
}

// Deliver hands e to its subscribers; a subscriber whose buffer is full
// misses it and is marked lagged.
func (f *Fanout) Deliver(e Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs[key{e.Topic, e.CustomerID}] {
		select {
		case s.ch <- e:
		default: // a slow subscriber never blocks the sender
			s.lagged.Store(true)
		}
	}
}

// Subscribe delivers the customer's events on topic until ctx ends.
func (f *Fanout) Subscribe(ctx context.Context, topic Topic, customerID int) <-chan Event {
	return f.subscribe(ctx, topic, customerID).ch
}

func (f *Fanout) subscribe(ctx context.Context, topic Topic, customerID int) *subscriber {
	k := key{topic, customerID}
	s := &subscriber{ch: make(chan Event, subscriberBuffer)}
	f.mu.Lock()
	f.subs = addTo(f.subs, k, s)
	f.mu.Unlock()
	context.AfterFunc(ctx, func() {
		f.mu.Lock()
		removeFrom(f.subs, k, s)
		f.mu.Unlock()
		close(s.ch)
	})
	return s
}

// addTo adds v to the set m[k], making what is missing, and returns m.
func addTo[K, V comparable](m map[K]map[V]struct{}, k K, v V) map[K]map[V]struct{} {
	if m == nil {
		m = map[K]map[V]struct{}{}
	}
	if m[k] == nil {
		m[k] = map[V]struct{}{}
	}
	m[k][v] = struct{}{}
	return m
}

// removeFrom removes v from the set m[k], and the set once empty.
func removeFrom[K, V comparable](m map[K]map[V]struct{}, k K, v V) {
	delete(m[k], v)
	if len(m[k]) == 0 {
		delete(m, k)
	}
}

// WatchStaff signals each time staffID's sessions change, until ctx ends.
func (f *Fanout) WatchStaff(ctx context.Context, staffID int) <-chan struct{} {
	ch := make(chan struct{}, 1)
	f.mu.Lock()
	f.staff = addTo(f.staff, staffID, ch)
	f.mu.Unlock()
	context.AfterFunc(ctx, func() {
		f.mu.Lock()
		removeFrom(f.staff, staffID, ch)
		f.mu.Unlock()
		close(ch)
	})
	return ch
}

// signalStaff signals the watchers of staffID, or of every staff member
// when all is true. A pending signal already says "recheck".
func (f *Fanout) signalStaff(staffID int, all bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, chans := range f.staff {
		if !all && id != staffID {
			continue
		}
		for ch := range chans {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}

// Feed reads new events from the table, each once per process, and fans
// them out; both brokers are a Feed plus a way to learn that rows were added.
type Feed struct {
	Fanout
	db  *db.DB
	log *slog.Logger

	readMu sync.Mutex // serializes reading and delivering, so delivery is in order
	// last is the newest seq delivered per company; nil until loaded.
	last map[int]int64
	// loaded is set once last is: after that a publisher, which runs inside
	// its write transaction, never waits on readMu. (On SQLite it would hold
	// the one write lock while a delivery, holding readMu, waited for a pool
	// connection that writers blocked on that lock were holding.)
	loaded atomic.Bool
}

func newFeed(d *db.DB, log *slog.Logger) Feed {
	if log == nil {
		log = slog.Default()
	}
	return Feed{db: d, log: log}
}

// markHeads takes every company's newest seq as delivered: the starting
// point of a process, which serves nobody before it.
func (f *Feed) markHeads(ctx context.Context) error {
	if f.loaded.Load() {
		return nil
	}
	f.readMu.Lock()
	defer f.readMu.Unlock()
	return f.loadLocked(ctx)
}

func (f *Feed) loadLocked(ctx context.Context) error {
	if f.last != nil {
		return nil
	}
	heads, err := readHeads(ctx, f.db)
	if err != nil {
		return err
	}
	f.last = heads
	f.loaded.Store(true)
	return nil
}

// catchUp delivers companyID's events newer than those already delivered,
// unless seq (when positive) was delivered already.
func (f *Feed) catchUp(ctx context.Context, companyID int, seq int64) error {
	f.readMu.Lock()
	defer f.readMu.Unlock()
	if err := f.loadLocked(ctx); err != nil {
		return err
	}
	if seq > 0 && seq <= f.last[companyID] {
		return nil
	}
	return f.readLocked(ctx, companyID)
}

// catchUpAll delivers every company's undelivered events: after an outage
// in which notifications may have been lost.
func (f *Feed) catchUpAll(ctx context.Context) error {
	f.readMu.Lock()
	defer f.readMu.Unlock()
	if err := f.loadLocked(ctx); err != nil {
		return err
	}
	heads, err := readHeads(ctx, f.db)
	if err != nil {
		return err
	}
	for co, head := range heads {
		if head > f.last[co] {
			if err := f.readLocked(ctx, co); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *Feed) readLocked(ctx context.Context, companyID int) error {
	for {
		evs, err := readCompany(ctx, f.db, companyID, f.last[companyID], readPage)
		if err != nil {
			return fmt.Errorf("reading events of company %d: %w", companyID, err)
		}
		for _, e := range evs {
			f.Deliver(e)
			f.last[companyID] = e.Seq
		}
		if len(evs) < readPage {
			return nil
		}
	}
}

// Watch delivers a customer's events on topic until ctx ends, then closes
// the channel. With after empty it starts from now; with a cursor it first
// replays the kept events after it. A cursor that does not parse, is newer
// than any event, or is older than what is kept gets one Resync event (with
// the cursor to resume from) instead of a replay. Live events the replay
// already sent are skipped, and a subscriber that fell behind its buffer
// rereads the table, so nothing is lost or repeated. "Now" is when Watch
// returns. The channel is unbuffered: a slow reader holds back only itself.
// A database error later ends the stream (it is logged).
func (f *Feed) Watch(ctx context.Context, topic Topic, companyID, customerID int, after string) (<-chan Event, error) {
	ctx, cancel := context.WithCancel(ctx)
	live := f.subscribe(ctx, topic, customerID) // before reading: nothing falls between
	head, pruned, err := readBounds(ctx, f.db, companyID)
	if err != nil {
		cancel()
		return nil, err
	}
	out := make(chan Event)
	w := &watcher{f: f, ctx: ctx, out: out, topic: topic, companyID: companyID, customerID: customerID}
	go func() {
		defer close(out)
		defer cancel()
		if err := w.run(live, after, head, pruned); err != nil && ctx.Err() == nil {
			f.log.Warn("event stream ended", "topic", topic, "customer", customerID, "err", err)
		}
	}()
	return out, nil
}

// watcher is one Watch stream.
type watcher struct {
	f          *Feed
	ctx        context.Context
	out        chan<- Event
	topic      Topic
	companyID  int
	customerID int
	last       int64 // newest seq sent
}

func (w *watcher) run(live *subscriber, after string, head, pruned int64) error {
	seq, ok := parseCursor(after)
	switch {
	case after == "":
		w.last = head
	case !ok || seq < pruned || seq > head:
		w.last = head
		if !w.send(Event{Topic: w.topic, CompanyID: w.companyID, CustomerID: w.customerID, Kind: Resync, Seq: head}) {
			return nil
		}
	default:
		w.last = seq
		if err := w.replay(); err != nil {
			return err
		}
		// Pruning may have run while the replay read: if it reached past
		// the cursor, rows the replay wanted may be gone.
		if _, pruned, err := readBounds(w.ctx, w.f.db, w.companyID); err != nil {
			return err
		} else if pruned > seq && !w.send(Event{Topic: w.topic, CompanyID: w.companyID, CustomerID: w.customerID, Kind: Resync, Seq: w.last}) {
			return nil
		}
	}
	for {
		select {
		case e, open := <-live.ch:
			if !open {
				return nil
			}
			if live.lagged.Swap(false) {
				if err := w.replay(); err != nil {
					return err
				}
			}
			if e.Seq > w.last && !w.send(e) {
				return nil
			}
		case <-w.ctx.Done():
			return nil
		}
	}
}

// replay sends the kept events after w.last.
func (w *watcher) replay() error {
	for {
		evs, err := readCustomer(w.ctx, w.f.db, w.companyID, w.topic, w.customerID, w.last, readPage)
		if err != nil {
			return fmt.Errorf("replaying events: %w", err)
		}
		for _, e := range evs {
			if !w.send(e) {
				return nil
			}
		}
		if len(evs) < readPage {
			return nil
		}
	}
}

func (w *watcher) send(e Event) bool {
	select {
	case w.out <- e:
		if e.Seq > w.last {
			w.last = e.Seq
		}
		return true
	case <-w.ctx.Done():
		return false
	}
}

// Local is the in-process broker, for a single process (the SQLite default).
type Local struct{ Feed }

var _ Broker = (*Local)(nil)

// NewLocal returns an in-process broker on d.
func NewLocal(d *db.DB) *Local { return &Local{newFeed(d, nil)} }

// Publish records e in tx and, after commit, delivers what is new.
func (b *Local) Publish(ctx context.Context, tx *db.Tx, e Event) error {
	// Load the starting point before the first event of this process
	// commits, so that event counts as new. Reading and fanning out is the
	// process's work, not the request's: it runs on a context of its own
	// (and may deliver other requests' events too).
	if err := b.markHeads(context.Background()); err != nil {
		return err
	}
	seq, err := record(ctx, b.db.Dialect, tx, e)
	if err != nil {
		return err
	}
	tx.OnCommit(func() {
		if err := b.catchUp(context.Background(), e.CompanyID, seq); err != nil {
			b.log.Warn("delivering events", "company", e.CompanyID, "err", err)
		}
	})
	return nil
}

// StaffChanged signals the staff member's subscriptions in this process.
func (b *Local) StaffChanged(_ context.Context, staffID int) error {
	b.signalStaff(staffID, false)
	return nil
}
