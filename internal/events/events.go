// Package events tells open screens that something changed. Publishers call
// it only after their transaction commits; payloads are ids and kinds, and
// subscribers load the rest through privacy-checked queries.
package events

import (
	"context"
	"sync"
)

// Kind is what happened to a card.
type Kind string

// The card event kinds of DESIGN.md §4.
const (
	Added          Kind = "ADDED"
	Updated        Kind = "UPDATED"
	Deleted        Kind = "DELETED"
	PrimaryChanged Kind = "PRIMARY_CHANGED"
)

// CardEvent says that a customer's card changed.
type CardEvent struct {
	CompanyID  int
	CustomerID int
	CardID     int
	Kind       Kind
}

// Publisher is told about committed changes.
type Publisher interface {
	PublishCard(ctx context.Context, e CardEvent)
}

// Broker publishes and subscribes.
type Broker interface {
	Publisher
	// SubscribeCards delivers a customer's card events until ctx ends.
	SubscribeCards(ctx context.Context, customerID int) <-chan CardEvent
}

// Local is the in-process broker, for a single process (the SQLite default).
type Local struct {
	mu   sync.Mutex
	subs map[int]map[chan CardEvent]struct{}
}

// NewLocal returns an in-process broker.
func NewLocal() *Local { return &Local{subs: map[int]map[chan CardEvent]struct{}{}} }

// subscriberBuffer is how many events a slow subscriber may fall behind
// before it misses some; a reconnecting client refetches.
const subscriberBuffer = 16

// PublishCard delivers e to the customer's subscribers without ever blocking.
func (b *Local) PublishCard(_ context.Context, e CardEvent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs[e.CustomerID] {
		select {
		case ch <- e:
		default: // a slow subscriber never blocks the publisher
		}
	}
}

// SubscribeCards delivers the customer's card events until ctx ends.
func (b *Local) SubscribeCards(ctx context.Context, customerID int) <-chan CardEvent {
	ch := make(chan CardEvent, subscriberBuffer)
	b.mu.Lock()
	if b.subs[customerID] == nil {
		b.subs[customerID] = map[chan CardEvent]struct{}{}
	}
	b.subs[customerID][ch] = struct{}{}
	b.mu.Unlock()
	go func() {
		<-ctx.Done()
		b.mu.Lock()
		delete(b.subs[customerID], ch)
		if len(b.subs[customerID]) == 0 {
			delete(b.subs, customerID)
		}
		b.mu.Unlock()
		close(ch)
	}()
	return ch
}
