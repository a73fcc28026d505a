package events

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestLocalBrokerDeliversPerCustomerAndNeverBlocks(t *testing.T) {
	defer goleak.VerifyNone(t)
	b := NewLocal()
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
