// Package events tells open screens that something changed. Events go out
// only when the writing transaction commits; payloads are ids and kinds, and
// subscribers load the rest through privacy-checked queries.
package events

import (
	"context"
	"sync"

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

// Event says that one of a customer's cards or card requests changed.
type Event struct {
	Topic      Topic `json:"t"`
	CompanyID  int   `json:"co"`
	CustomerID int   `json:"cu"`
	ID         int   `json:"id"`
	Kind       Kind  `json:"k"`
}

// Broker publishes committed changes and delivers them to subscribers.
type Broker interface {
	// Publish sends e when tx commits; a rolled-back transaction sends nothing.
	Publish(ctx context.Context, tx *db.Tx, e Event) error
	// Subscribe delivers a customer's events on topic until ctx ends, then
	// closes the channel.
	Subscribe(ctx context.Context, topic Topic, customerID int) <-chan Event
}

// subscriberBuffer is how many events a slow subscriber may fall behind
// before it misses some; a reconnecting client refetches.
const subscriberBuffer = 16

type key struct {
	topic      Topic
	customerID int
}

// Fanout delivers events to this process's subscribers, never blocking the
// sender. Every broker uses one.
type Fanout struct {
	mu   sync.Mutex
	subs map[key]map[chan Event]struct{}
}

// Deliver hands e to its subscribers; a subscriber whose buffer is full misses it.
func (f *Fanout) Deliver(e Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs[key{e.Topic, e.CustomerID}] {
		select {
		case ch <- e:
		default: // a slow subscriber never blocks the sender
		}
	}
}

// Subscribe delivers the customer's events on topic until ctx ends.
func (f *Fanout) Subscribe(ctx context.Context, topic Topic, customerID int) <-chan Event {
	k := key{topic, customerID}
	ch := make(chan Event, subscriberBuffer)
	f.mu.Lock()
	if f.subs == nil {
		f.subs = map[key]map[chan Event]struct{}{}
	}
	if f.subs[k] == nil {
		f.subs[k] = map[chan Event]struct{}{}
	}
	f.subs[k][ch] = struct{}{}
	f.mu.Unlock()
	context.AfterFunc(ctx, func() {
		f.mu.Lock()
		delete(f.subs[k], ch)
		if len(f.subs[k]) == 0 {
			delete(f.subs, k)
		}
		f.mu.Unlock()
		close(ch)
	})
	return ch
}

// Local is the in-process broker, for a single process (the SQLite default).
type Local struct{ Fanout }

// NewLocal returns an in-process broker.
func NewLocal() *Local { return &Local{} }

// Publish delivers e after tx commits.
func (b *Local) Publish(_ context.Context, tx *db.Tx, e Event) error {
	tx.OnCommit(func() { b.Deliver(e) })
	return nil
}
