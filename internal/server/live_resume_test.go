package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"cardfile/ent"
	"cardfile/ent/privacy"
	"cardfile/ent/staff"
	"cardfile/internal/app"
	"cardfile/internal/app/apptest"
	"cardfile/internal/events"
	"cardfile/internal/server"
	"cardfile/internal/viewer"
)

const cardsAfter = `subscription($c: ID!, $after: String) { creditCardsChanged(customerId: $c, after: $after) { kind cursor cardId card { description } } }`

type cursorEvent struct {
	Kind, Cursor string
	CardID       *string
	Card         *struct{ Description string }
}

// cursorEventOf decodes a next message of cardsAfter.
func cursorEventOf(t *testing.T, m wsMessage) cursorEvent {
	t.Helper()
	var p struct {
		Data   struct{ CreditCardsChanged cursorEvent }
		Errors []gqlError
	}
	if m.Type != "next" {
		t.Fatalf("got %s %s %s, want next", m.Type, m.ID, m.Payload)
	}
	if err := json.Unmarshal(m.Payload, &p); err != nil || len(p.Errors) > 0 {
		t.Fatalf("next %s: %s (%v)", m.ID, m.Payload, err)
	}
	return p.Data.CreditCardsChanged
}

// firstCursor subscribes on c and renames card until an event arrives,
// returning its cursor (the protocol has no "subscribed" message).
func firstCursor(t *testing.T, f *fixture, c *wsClient, token, customer, card string) string {
	t.Helper()
	c.subscribe("cards", cardsAfter, map[string]any{"c": customer})
	for i := 0; ; i++ {
		renameCard(t, f, token, card, fmt.Sprintf("warm-up %d", i))
		if m, ok := c.next(200 * time.Millisecond); ok {
			return cursorEventOf(t, m).Cursor
		}
		if i > 50 {
			t.Fatal("the subscription never delivered an event")
		}
	}
}

// drain reads what is pending on c (until quiet) and returns the cursor of
// the last event, or cursor when none came.
func drain(t *testing.T, c *wsClient, cursor string) string {
	t.Helper()
	for m, ok := c.next(quiet); ok; m, ok = c.next(quiet) {
		cursor = cursorEventOf(t, m).Cursor
	}
	return cursor
}

// live is a server with one tenant and card, and a subscriber c to the
// card's customer that has seen everything so far (cursor).
type live struct {
	f      *fixture
	url    string
	acme   wsTenant
	card   string
	c      *wsClient
	cursor string
}

func newLive(t *testing.T) live {
	t.Helper()
	l := live{f: newFixture(t)}
	l.url = serveWS(t, l.f)
	l.acme = newWSTenant(t, l.f, "Acme")
	l.card = addCard(t, l.f, l.acme.manager, l.acme.customer, "4242424242424242", "card")
	l.c = connectWS(t, l.url, l.acme.manager)
	l.cursor = drain(t, l.c, firstCursor(t, l.f, l.c, l.acme.manager, l.acme.customer, l.card))
	return l
}

// endsUnauthenticated fails unless c's subscription ends within a second
// with an UNAUTHENTICATED error message.
func endsUnauthenticated(t *testing.T, c *wsClient) {
	t.Helper()
	m, ok := c.next(time.Second)
	if !ok || m.Type != "error" || m.ID != "cards" || !strings.Contains(string(m.Payload), `"UNAUTHENTICATED"`) {
		t.Fatalf("within 1 s got %v %s %s, want an UNAUTHENTICATED error", ok, m.Type, m.Payload)
	}
}

// A client whose socket drops comes back with its last cursor and gets
// every change made meanwhile, in order and once, then the live ones: the
// same cursors a client that stayed connected saw. (Payloads show the card
// as it is now, so cursors, not descriptions, tell the events apart.)
func TestWebsocketResumesFromCursorAcrossAReconnect(t *testing.T) {
	l := newLive(t)
	f, acme, card := l.f, l.acme, l.card
	witness := connectWS(t, l.url, acme.manager)
	firstCursor(t, f, witness, acme.manager, acme.customer, card)
	// Settle: both have seen every warm-up event.
	cursor := drain(t, l.c, l.cursor)
	drain(t, witness, "")
	l.c.conn.Close()

	for i := range 5 {
		renameCard(t, f, acme.manager, card, fmt.Sprintf("while away %d", i))
	}
	again := connectWS(t, l.url, acme.manager)
	again.subscribe("cards", cardsAfter, map[string]any{"c": acme.customer, "after": cursor})
	var got, want []string
	for range 5 {
		ev := cursorEventOf(t, again.expect())
		if ev.Kind != "UPDATED" || ev.CardID == nil || *ev.CardID != card {
			t.Fatalf("replayed %+v", ev)
		}
		got = append(got, ev.Cursor)
		want = append(want, cursorEventOf(t, witness.expect()).Cursor)
	}
	renameCard(t, f, acme.manager, card, "live")
	live := cursorEventOf(t, again.expect())
	if live.Card.Description != "live" {
		t.Fatalf("the live event shows %+v", live)
	}
	got = append(got, live.Cursor)
	want = append(want, cursorEventOf(t, witness.expect()).Cursor)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("after the reconnect got cursors %v; the connected client saw %v", got, want)
	}
	again.silent()
}

// A cursor older than the kept window, or one that is not a cursor, gets
// RESYNC (the client refetches) and the live events after it.
func TestWebsocketResyncsExpiredAndMalformedCursors(t *testing.T) {
	l := newLive(t)
	f, url, acme, card, old := l.f, l.url, l.acme, l.card, l.cursor
	renameCard(t, f, acme.manager, card, "after the cursor")
	if _, err := events.Prune(context.Background(), f.app.DB, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, cursor := range []string{old, "not-a-cursor"} {
		t.Run(cursor, func(t *testing.T) {
			s := connectWS(t, url, acme.manager)
			s.subscribe("cards", cardsAfter, map[string]any{"c": acme.customer, "after": cursor})
			ev := cursorEventOf(t, s.expect())
			if ev.Kind != "RESYNC" || ev.CardID != nil || ev.Card != nil || ev.Cursor == "" || ev.Cursor == cursor {
				t.Fatalf("got %+v, want RESYNC with a new cursor", ev)
			}
			renameCard(t, f, acme.manager, card, "live "+cursor)
			if ev := cursorEventOf(t, s.expect()); ev.Kind != "UPDATED" || ev.Card.Description != "live "+cursor {
				t.Fatalf("after RESYNC got %+v", ev)
			}
		})
	}
}

// Logout ends the session's open subscriptions at once with an
// UNAUTHENTICATED error, well before the periodic recheck (a minute).
func TestWebsocketLogoutEndsSubscriptionsAtOnce(t *testing.T) {
	l := newLive(t)
	if r := l.f.gql(t, l.acme.manager, `mutation { logout }`, nil); len(r.Errors) > 0 {
		t.Fatalf("logout: %s", r.Raw)
	}
	endsUnauthenticated(t, l.c)
}

// A deactivation or a role that may no longer manage cards, once announced
// (auth.StaffChanged, after the change commits), ends that staff member's
// open subscriptions within a second with UNAUTHENTICATED.
func TestWebsocketStaffChangesEndSubscriptionsAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*ent.StaffUpdateOne) *ent.StaffUpdateOne
	}{
		{"deactivated", func(u *ent.StaffUpdateOne) *ent.StaffUpdateOne { return u.SetActive(false) }},
		{"role without card rights", func(u *ent.StaffUpdateOne) *ent.StaffUpdateOne { return u.SetRole(viewer.Salesperson) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLive(t)
			sys := privacy.DecisionContext(context.Background(), privacy.Allow)
			admin := l.f.app.DB.Staff.Query().Where(staff.RoleEQ(viewer.Admin)).OnlyX(sys)
			tc.change(l.f.app.DB.Staff.UpdateOne(admin)).ExecX(sys)
			if err := l.f.app.Auth.StaffChanged(sys, admin.ID); err != nil {
				t.Fatal(err)
			}
			endsUnauthenticated(t, l.c)
		})
	}
}

// A session reaching its absolute lifetime ends its subscriptions then,
// with UNAUTHENTICATED, not at the next periodic recheck (a minute).
func TestWebsocketSessionExpiryEndsSubscriptionsOnTime(t *testing.T) {
	logs := &apptest.Log{}
	o := apptest.Options(t, logs)
	o.Server = server.DefaultConfig()
	o.Server.AllowedOrigins = []string{staffOrigin}
	const lifetime = 4 * time.Second
	o.Auth.AbsoluteLifetime = lifetime
	a, err := app.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	f := &fixture{app: a, logs: logs}
	acme := newWSTenant(t, f, "Acme")
	signIn := time.Now() // the session ends no later than lifetime after this
	card := addCard(t, f, acme.manager, acme.customer, "4242424242424242", "card")
	c := connectWS(t, serveWS(t, f), acme.manager)
	drain(t, c, firstCursor(t, f, c, acme.manager, acme.customer, card))
	if time.Since(signIn) > lifetime {
		t.Fatal("the setup outlasted the session")
	}
	m, ok := c.next(time.Until(signIn.Add(lifetime + time.Second)))
	if !ok || m.Type != "error" || !strings.Contains(string(m.Payload), `"UNAUTHENTICATED"`) {
		t.Fatalf("within 1 s of the session's end got %v %s %s, want an UNAUTHENTICATED error", ok, m.Type, m.Payload)
	}
}
