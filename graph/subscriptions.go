package graph

import (
	"cmp"
	"context"
	"time"

	"cardfile/ent"

	"cardfile/internal/apperr"
	"cardfile/internal/events"
	"cardfile/internal/viewer"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// msgSessionEnded is what a subscriber hears when its session ends under it.
const msgSessionEnded = "your session has ended; sign in again"

// watch relays a customer's events on topic to a subscriber who may manage
// that customer's cards, resuming after cursor after when given (see
// events.Broker.Watch). Each event is turned into a payload by load, which
// reads through the subscriber's own privacy rules; load returns false to
// skip an event. A slow subscriber only ever holds back its own stream.
//
// The stream ends with an UNAUTHENTICATED error as soon as the session
// does: a logout or a change to the staff member on any replica signals it
// (WatchStaff), its absolute expiry is timed, and a periodic recheck covers
// whatever changed behind the application's back.
func watch[T any](ctx context.Context, r *Resolver, topic events.Topic, customerID int, after *string,
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
	// Watch the staff member before checking the session, so that a logout
	// between the two is not missed.
	sctx, cancel := context.WithCancel(ctx)
	staffChanged := r.Events.WatchStaff(sctx, v.StaffID)
	// The viewer was fixed when the websocket opened; check it still stands.
	left, ok, err := r.Auth.StillValid(ctx, v.SessionID)
	if err != nil || !ok {
		cancel()
		if err != nil {
			return nil, err
		}
		return nil, apperr.New(apperr.Unauthenticated, msgSessionEnded)
	}
	in, err := r.Events.Watch(sctx, topic, v.CompanyID, customerID, deref(after))
	if err != nil {
		cancel()
		return nil, err
	}
	out := make(chan T)
	go func() {
		defer close(out)
		defer cancel()
		recheck := time.NewTicker(cmp.Or(r.SessionRecheck, time.Minute))
		defer recheck.Stop()
		expiry := time.NewTimer(left)
		defer expiry.Stop()
		for {
			var e events.Event
			select {
			case _, open := <-staffChanged:
				if !open || !stillValid(sctx, r, v) {
					return
				}
				continue
			case <-recheck.C:
				if !stillValid(sctx, r, v) {
					return
				}
				continue
			case <-expiry.C:
				endSession(ctx)
				return
			case ev, open := <-in:
				if !open {
					return
				}
				e = ev
			}
			payload, ok := load(sctx, e)
			if !ok {
				continue
			}
			select {
			case out <- payload:
			case <-sctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// stillValid rechecks v's session and, when it has ended, tells the
// subscriber so; a failed check keeps the stream (the next one decides).
func stillValid(ctx context.Context, r *Resolver, v *viewer.Staff) bool {
	_, ok, err := r.Auth.StillValid(ctx, v.SessionID)
	if err == nil && !ok {
		endSession(ctx)
		return false
	}
	return true
}

// endSession makes the websocket end the subscription with an error
// message, never a bare complete: the client signs in again.
func endSession(ctx context.Context) {
	transport.AddSubscriptionError(ctx, &gqlerror.Error{
		Message:    msgSessionEnded,
		Extensions: map[string]any{"code": string(apperr.Unauthenticated)},
	})
}
