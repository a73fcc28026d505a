package graph

import (
	"cmp"
	"context"
	"time"

	"cardfile/ent"

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
		if ent.IsNotFound(err) {
			return nil, apperr.NotFoundf("customer not found")
		}
		return nil, err
	}
	if !v.CanManageCards {
		return nil, apperr.New(apperr.Forbidden, "your role may not manage credit cards")
	}
	// The viewer was fixed when the websocket opened; check it still stands.
	if ok, err := r.Auth.StillValid(ctx, v.SessionID); err != nil {
		return nil, err
	} else if !ok {
		return nil, apperr.New(apperr.Unauthenticated, "your session has ended; sign in again")
	}
	ctx, cancel := context.WithCancel(ctx)
	in := r.Events.Subscribe(ctx, topic, customerID)
	out := make(chan T)
	go func() {
		defer close(out)
		defer cancel()
		recheck := time.NewTicker(cmp.Or(r.SessionRecheck, time.Minute))
		defer recheck.Stop()
		for {
			var e events.Event
			select {
			case <-recheck.C:
				// A logout, a deactivation or a lost role ends the stream.
				if ok, err := r.Auth.StillValid(ctx, v.SessionID); err == nil && !ok {
					return
				}
				continue
			case ev, open := <-in:
				if !open {
					return
				}
				e = ev
			}
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
