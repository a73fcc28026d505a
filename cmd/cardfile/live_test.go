package main

import (
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"cardfile/internal/db/dbtest"
	"cardfile/internal/events"
)

const cardsLive = `subscription($c: ID!, $after: String) { creditCardsChanged(customerId: $c, after: $after) { kind cursor cardId card { description } } }`

// twoReplicas starts replica A (which seeds the demo) and replica B on one
// PostgreSQL schema, and returns them with the database URL and the env
// that starts another replica.
func twoReplicas(t *testing.T) (a, b *process, url string, env []string) {
	t.Helper()
	if !dbtest.Postgres() {
		t.Skip("replicas share PostgreSQL; the SQLite default is one process")
	}
	env = databaseEnv(t)
	url = strings.TrimPrefix(env[0], "CARDFILE_DATABASE_URL=")
	a = startServe(t, t.TempDir(), append(env, "CARDFILE_DEMO=1")...)
	b = startServe(t, t.TempDir(), env...)
	return a, b, url, env
}

// demoCard returns a USD demo customer with a card, and the card's id.
func demoCard(t *testing.T, p *process, token string) (customerID, cardID string) {
	t.Helper()
	data := p.call(t, token, `{ customers(first: 1, where: {hasCreditCards: true, defaultCurrency: "USD"}) { edges { node { id creditCards { id } } } } }`, nil)
	node := data["customers"].(map[string]any)["edges"].([]any)[0].(map[string]any)["node"].(map[string]any)
	return node["id"].(string), node["creditCards"].([]any)[0].(map[string]any)["id"].(string)
}

func rename(t *testing.T, p *process, token, cardID, description string) {
	t.Helper()
	p.call(t, token, `mutation($id: ID!, $d: String!) { editCreditCard(id: $id, input: {description: $d}) { id } }`,
		map[string]any{"id": cardID, "d": description})
}

// cardEvent is one creditCardsChanged payload, failing on anything else.
func cardEvent(t *testing.T, m wsMessage) map[string]any {
	t.Helper()
	if m.Type != "next" || m.Payload.Errors != nil || m.Payload.Data == nil {
		t.Fatalf("want a card event, got %s", m.Raw)
	}
	return m.Payload.Data["creditCardsChanged"].(map[string]any)
}

// liveOn subscribes on b and renames the card through a until b delivers
// (there is no "subscribed" message), then drains the warm-up events.
// It returns the subscription and the cursor of its last event.
func liveOn(t *testing.T, a, b *process, token, customer, card string) (<-chan wsMessage, func(), string) {
	t.Helper()
	msgs, drop := openSubscription(t, b, token, cardsLive, map[string]any{"c": customer})
	cursor := ""
	for i := 0; cursor == ""; i++ {
		if i == 40 {
			t.Fatalf("replica B never delivered; its log:\n%s", b.stderr)
		}
		rename(t, a, token, card, fmt.Sprintf("warm-up %d", i))
		select {
		case m := <-msgs:
			cursor = cardEvent(t, m)["cursor"].(string)
		case <-time.After(500 * time.Millisecond):
		}
	}
	for {
		select {
		case m := <-msgs:
			cursor = cardEvent(t, m)["cursor"].(string)
		case <-time.After(time.Second):
			return msgs, drop, cursor
		}
	}
}

// keptCursors returns the cursors of the customer's card events after
// cursor, in order, as the events table holds them: exactly what a
// subscriber resuming from cursor must receive.
func keptCursors(t *testing.T, url, customer, cursor string) []string {
	t.Helper()
	d, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var after int64
	if _, err := fmt.Sscanf(cursor, "e1.%d", &after); err != nil {
		t.Fatalf("cursor %q: %v", cursor, err)
	}
	rows, err := d.Query(`SELECT seq FROM events WHERE topic = 'cards' AND customer_id = $1 AND seq > $2 ORDER BY seq`, customer, after)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			t.Fatal(err)
		}
		out = append(out, events.Event{Seq: seq}.Cursor())
	}
	return out
}

// renamesEvery100ms renames the card through a every 100 ms until the
// returned stop is called; stop returns how many renames were made.
func renamesEvery100ms(t *testing.T, a *process, token, card string) (stop func() int) {
	halt, done := make(chan struct{}), make(chan int, 1)
	go func() {
		var n int
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-halt:
				done <- n
				return
			case <-tick.C:
			}
			out := a.post(t, token, `mutation($id: ID!, $d: String!) { editCreditCard(id: $id, input: {description: $d}) { id } }`,
				map[string]any{"id": card, "d": fmt.Sprintf("rename %d", n)})
			if out["errors"] != nil {
				t.Errorf("rename %d: %v", n, out["errors"])
			}
			n++
		}
	}()
	var once sync.Once
	var n int
	stop = func() int {
		once.Do(func() { close(halt); n = <-done })
		return n
	}
	t.Cleanup(func() { stop() }) // before the replicas stop: cleanups run last first
	return stop
}

// collect reads card events from msgs into cursors for d at most: until
// the connection ends (it then returns true) or, when quiet is positive,
// until quiet passes with nothing.
func collect(t *testing.T, msgs <-chan wsMessage, cursors *[]string, d, quiet time.Duration) (ended bool) {
	t.Helper()
	deadline := time.After(d)
	var silence <-chan time.Time
	for {
		if quiet > 0 {
			silence = time.After(quiet)
		}
		select {
		case m, open := <-msgs:
			if !open {
				return true
			}
			ev := cardEvent(t, m)
			if ev["kind"] != "UPDATED" {
				t.Fatalf("got %v, want UPDATED", ev)
			}
			*cursors = append(*cursors, ev["cursor"].(string))
		case <-silence:
			return false
		case <-deadline:
			return false
		}
	}
}

// waitListening waits until a backend named name other than pid old
// listens, and returns its pid.
func waitListening(t *testing.T, d *sql.DB, name string, old int) int {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var pid int
		err := d.QueryRow(`SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'listen %' AND pid <> $2`, name, old).Scan(&pid)
		if err == nil {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("no listening backend named %q within 15 s: %v", name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sameCursors fails unless got is exactly want: every change once, in order.
func sameCursors(t *testing.T, got, want []string, renames int) {
	t.Helper()
	t.Logf("%d renames during the test; %d events kept after the start cursor; %d received", renames, len(want), len(got))
	if len(want) < renames {
		t.Fatalf("the table holds %d events for %d renames", len(want), renames)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("the subscriber received %d events, want the %d the table holds in order:\n got %v\nwant %v", len(got), len(want), got, want)
	}
}

// Renames run every 100 ms on replica A while the subscriber's replica B
// is killed and restarted twice; after each restart the client reconnects
// with its last cursor. Every rename arrives exactly once, in order.
func TestSubscriberResumesAcrossReplicaRestarts(t *testing.T) {
	a, b, url, env := twoReplicas(t)
	token := a.login(t)
	customer, card := demoCard(t, a, token)
	msgs, _, start := liveOn(t, a, b, token, customer, card)

	stop := renamesEvery100ms(t, a, token, card)
	var got []string
	for restart := range 2 {
		collect(t, msgs, &got, 700*time.Millisecond, 0)
		if err := b.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		if !collect(t, msgs, &got, 10*time.Second, 0) {
			t.Fatal("the websocket outlived its killed replica by 10 s")
		}
		_ = b.cmd.Wait()
		b = startServe(t, t.TempDir(), env...)
		cursor := start
		if len(got) > 0 {
			cursor = got[len(got)-1]
		}
		t.Logf("restart %d: resuming after %s with %d events so far", restart+1, cursor, len(got))
		msgs, _ = openSubscription(t, b, token, cardsLive, map[string]any{"c": customer, "after": cursor})
	}
	collect(t, msgs, &got, 700*time.Millisecond, 0)
	n := stop()
	collect(t, msgs, &got, 10*time.Second, 2*time.Second)
	sameCursors(t, got, keptCursors(t, url, customer, start), n)
}

// The listener of the subscriber's replica B is terminated while renames
// run on A: B reconnects within seconds, reads what it missed from the
// table, and the subscriber (which never reconnects) gets every rename
// exactly once, in order.
func TestSubscriberLosesNothingWhenItsReplicasListenerDies(t *testing.T) {
	a, b, url, _ := twoReplicas(t)
	token := a.login(t)
	customer, card := demoCard(t, a, token)
	msgs, _, start := liveOn(t, a, b, token, customer, card)
	d, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	stop := renamesEvery100ms(t, a, token, card)
	var got []string
	listener := fmt.Sprintf("%s %d", events.ListenerApplicationName, b.cmd.Process.Pid)
	pid := 0
	for range 2 {
		pid = waitListening(t, d, listener, pid)
		collect(t, msgs, &got, 500*time.Millisecond, 0)
		var ok bool
		if err := d.QueryRow(`SELECT pg_terminate_backend($1)`, pid).Scan(&ok); err != nil || !ok {
			t.Fatalf("terminating B's listener (pid %d): %v %v", pid, ok, err)
		}
	}
	waitListening(t, d, listener, pid)
	collect(t, msgs, &got, 700*time.Millisecond, 0)
	n := stop()
	if collect(t, msgs, &got, 10*time.Second, 2*time.Second) {
		t.Fatal("the subscription ended")
	}
	sameCursors(t, got, keptCursors(t, url, customer, start), n)
	if !strings.Contains(b.stderr.String(), "events listener reconnected and caught up") {
		t.Fatalf("B's log does not show the listener catching up:\n%s", b.stderr)
	}
}

// Logout on replica A ends the session's subscription held on replica B
// within a second, with an UNAUTHENTICATED error (not a bare complete).
func TestLogoutOnOneReplicaEndsSubscriptionOnAnother(t *testing.T) {
	a, b, _, _ := twoReplicas(t)
	token := a.login(t)
	customer, card := demoCard(t, a, token)
	msgs, _, _ := liveOn(t, a, b, token, customer, card)
	a.call(t, token, `mutation { logout }`, nil)
	select {
	case m := <-msgs:
		if m.Type != "error" || !strings.Contains(m.Raw, `"UNAUTHENTICATED"`) {
			t.Fatalf("after logout on A, B sent %s; want an UNAUTHENTICATED error", m.Raw)
		}
	case <-time.After(time.Second):
		t.Fatal("B's subscription was still open 1 s after logout on A")
	}
}
