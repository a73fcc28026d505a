package graph

import (
	"context"

	"cardfile/internal/apperr"
	"cardfile/internal/events"
	"cardfile/internal/viewer"
)

// watch relays a customer's events on topic to a subscriber who may manage
// that customer's cards. Each event is turned into a payload by load, which
// reads through the subscriber's own privacy rules; load returns false to
// skip an event. A slow subscriber only ever falls behind its own buffer.
func watch[T any](ctx context.Context, r *Resolver, topic events.Topic, customerID int,
	load func(context.Context, events.Event) (T, bool)) (<-chan T, error) {
	v := viewer.FromContext(ctx)
	if v == nil {
		return nil, apperr.New(apperr.Unauthenticated, "sign in first")
	}
	if _, err := r.DB.Customer.Get(ctx, customerID); err != nil {
		return nil, apperr.NotFoundf("customer not found")
	}
	if !v.CanManageCards {
		return nil, apperr.New(apperr.Forbidden, "your role may not manage credit cards")
	}
	in := r.Events.Subscribe(ctx, topic, customerID)
	out := make(chan T)
	go func() {
		defer close(out)
		for e := range in {
			payload, ok := load(ctx, e)
			if !ok {
				continue
			}
			select {
			case out <- payload:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
