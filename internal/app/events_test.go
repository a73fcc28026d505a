package app_test

import (
	"fmt"
	"testing"
	"time"

	"cardfile/internal/app"
	"cardfile/internal/events"
	"cardfile/internal/viewer"
)

// The periodic prune job deletes events past the retention window (24 h by
// default); a subscriber resuming from a pruned cursor gets RESYNC.
func TestPruneJobDropsOldEventsAndTheirCursorsResync(t *testing.T) {
	h := newHarness(t, func(o *app.Options) { o.Jobs.PruneInterval = 50 * time.Millisecond })
	tn := h.newTenant("Blossom", 1)
	cust := tn.customers[0]
	live, err := h.app.Events.Watch(t.Context(), events.Requests, tn.company.ID, cust.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	// Two events, so that pruning both takes the mark past the first's
	// cursor (a cursor at the mark itself has missed nothing).
	var first events.Event
	for i := range 2 {
		h.requestCard(tn.tokens[viewer.Admin], fmt.Sprint(cust.ID), fmt.Sprintf("ap%d@buyer.example", i))
		select {
		case e := <-live:
			if i == 0 {
				first = e
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no event for the request")
		}
	}
	if h.app.DB.Event.Query().CountX(h.sys) == 0 {
		t.Fatal("the request's event is not in the table")
	}
	// Rows carry the wall clock; move the app's clock a day past it.
	h.clock.Advance(time.Since(h.clock.Now()) + 24*time.Hour + time.Minute)
	waitFor(t, func() bool { return h.app.DB.Event.Query().CountX(h.sys) == 0 })

	resumed, err := h.app.Events.Watch(t.Context(), events.Requests, tn.company.ID, cust.ID, first.Cursor())
	if err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-resumed:
		if e.Kind != events.Resync {
			t.Fatalf("a pruned cursor got %+v, want RESYNC", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a pruned cursor got nothing, want RESYNC")
	}
}
