package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"cardfile/ent/privacy"
	"cardfile/internal/auth"
	"cardfile/internal/gateway/sandbox"
	"cardfile/internal/server"
	"cardfile/internal/viewer"

	"github.com/gorilla/websocket"
)

const (
	subprotocol = "graphql-transport-ws"
	// waitFor bounds every wait for a message the test expects.
	waitFor = 5 * time.Second
	// quiet is how long a connection must stay silent to count as "nothing came".
	quiet = 300 * time.Millisecond

	cardsChanged = `subscription($c: ID!) { creditCardsChanged(customerId: $c) { kind cardId card { id last4 description } } }`
)

// wsTenant is a company with a card manager, a salesperson and one customer.
type wsTenant struct {
	customer             string
	manager, salesperson string // session tokens
}

func newWSTenant(t *testing.T, f *fixture, name string) wsTenant {
	t.Helper()
	sys := privacy.DecisionContext(context.Background(), privacy.Allow)
	co := f.app.DB.Company.Create().SetName(name).SaveX(sys)
	slug := strings.ToLower(name)
	tokens := map[viewer.Role]string{}
	for _, role := range []viewer.Role{viewer.Admin, viewer.Salesperson} {
		email := fmt.Sprintf("%s@%s.test", strings.ToLower(string(role)), slug)
		if _, err := f.app.Auth.CreateStaff(sys, auth.NewStaff{CompanyID: co.ID, Email: email, Name: string(role), Role: role, Password: password}); err != nil {
			t.Fatalf("creating %s: %v", role, err)
		}
		tokens[role] = f.login(t, email)
	}
	cu := f.app.DB.Customer.Create().SetCompanyID(co.ID).SetCode("C0001").SetName(name + " Customer").SaveX(sys)
	return wsTenant{customer: fmt.Sprint(cu.ID), manager: tokens[viewer.Admin], salesperson: tokens[viewer.Salesperson]}
}

// addCard adds a card through the ordinary POST mutation and returns its id.
func addCard(t *testing.T, f *fixture, token, customer, number, description string) string {
	t.Helper()
	tok, err := f.app.Sandbox.Tokenize(context.Background(), sandbox.CardInput{
		Number: number, ExpMonth: 12, ExpYear: time.Now().Year() + 3, CVC: "999", PostalCode: "12345", Name: "Pat Buyer",
	})
	if err != nil {
		t.Fatalf("tokenizing a test card: %v", err)
	}
	r := f.gql(t, token, `mutation($c: ID!, $t: String!, $d: String) { addCreditCard(input: {customerId: $c, paymentToken: $t, description: $d}) { id } }`,
		map[string]any{"c": customer, "t": tok.Token, "d": description})
	var out struct{ AddCreditCard struct{ ID string } }
	r.decode(t, &out)
	return out.AddCreditCard.ID
}

func renameCard(t *testing.T, f *fixture, token, id, description string) {
	t.Helper()
	f.gql(t, token, `mutation($id: ID!, $d: String!) { editCreditCard(id: $id, input: {description: $d}) { id } }`,
		map[string]any{"id": id, "d": description}).decode(t, &struct{}{})
}

func deleteCard(t *testing.T, f *fixture, token, id string) {
	t.Helper()
	f.gql(t, token, `mutation($id: ID!) { deleteCreditCard(id: $id) { deletedId } }`, map[string]any{"id": id}).decode(t, &struct{}{})
}

// serveWS runs the whole handler on a real listener and returns its websocket URL.
func serveWS(t *testing.T, f *fixture) string {
	t.Helper()
	srv := httptest.NewServer(f.app.Handler)
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/query"
}

// dialWS opens a websocket the way a browser on origin would (no cookies:
// the dialer has no jar); an empty origin sends no Origin header.
func dialWS(url, origin string, header http.Header) (*websocket.Conn, *http.Response, error) {
	if header == nil {
		header = http.Header{}
	}
	if origin != "" {
		header.Set("Origin", origin)
	}
	d := websocket.Dialer{HandshakeTimeout: waitFor, Subprotocols: []string{subprotocol}}
	return d.Dial(url, header)
}

type wsMessage struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// wsClient speaks graphql-transport-ws by hand; a goroutine reads every
// message into in until the connection ends.
type wsClient struct {
	t       *testing.T
	conn    *websocket.Conn
	writeMu sync.Mutex
	in      chan wsMessage
	stop    chan struct{} // closed when the test ends
	done    chan struct{} // closed when the reading goroutine has ended
	readErr error         // why reading stopped; set before done closes
	skip    string        // the probe card, whose events expect and silent pass over
}

func newWSClient(t *testing.T, conn *websocket.Conn) *wsClient {
	c := &wsClient{t: t, conn: conn, in: make(chan wsMessage, 4096), stop: make(chan struct{}), done: make(chan struct{})}
	t.Cleanup(func() { conn.Close(); close(c.stop); <-c.done })
	return c
}

// read starts the reading goroutine; a client that must not read yet calls it later.
func (c *wsClient) read() *wsClient {
	go func() {
		defer close(c.done)
		for {
			var m wsMessage
			_, raw, err := c.conn.ReadMessage()
			if err == nil {
				err = json.Unmarshal(raw, &m)
			}
			if err != nil {
				c.readErr = err
				return
			}
			select {
			case c.in <- m:
			case <-c.stop:
				return
			}
		}
	}()
	return c
}

func (c *wsClient) send(m any) {
	c.t.Helper()
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.conn.WriteJSON(m); err != nil {
		c.t.Fatalf("sending %v: %v", m, err)
	}
}

func (c *wsClient) init(payload map[string]any) {
	m := map[string]any{"type": "connection_init"}
	if payload != nil {
		m["payload"] = payload
	}
	c.send(m)
}

func (c *wsClient) subscribe(id, query string, vars map[string]any) {
	c.send(map[string]any{"type": "subscribe", "id": id, "payload": map[string]any{"query": query, "variables": vars}})
}

func (c *wsClient) complete(id string) { c.send(map[string]any{"type": "complete", "id": id}) }

// next returns the next message, or false when none comes within d or the connection ended.
func (c *wsClient) next(d time.Duration) (wsMessage, bool) {
	select {
	case m := <-c.in:
		return m, true
	default:
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case m := <-c.in:
		return m, true
	case <-c.done:
		select {
		case m := <-c.in:
			return m, true
		default:
			return wsMessage{}, false
		}
	case <-timer.C:
		return wsMessage{}, false
	}
}

// expect returns the next message that is not about the probe card.
func (c *wsClient) expect() wsMessage {
	c.t.Helper()
	for {
		m, ok := c.next(waitFor)
		if !ok {
			c.t.Fatalf("no message within %s (connection ended: %v)", waitFor, c.readErr)
		}
		if c.skip == "" || m.Type != "next" || cardEventOf(c.t, m).CardID != c.skip {
			return m
		}
	}
}

// silent fails the test if any message other than a probe event arrives within quiet.
func (c *wsClient) silent() {
	c.t.Helper()
	for {
		m, ok := c.next(quiet)
		if !ok {
			return
		}
		if c.skip == "" || m.Type != "next" || cardEventOf(c.t, m).CardID != c.skip {
			c.t.Fatalf("unexpected message %s %s: %s", m.Type, m.ID, m.Payload)
		}
	}
}

// closed waits for the server to close the connection and returns the close code and reason.
func (c *wsClient) closed() (int, string) {
	c.t.Helper()
	for {
		m, ok := c.next(waitFor)
		if !ok {
			break
		}
		c.t.Errorf("got %s %s %s before the close", m.Type, m.ID, m.Payload)
	}
	select {
	case <-c.done:
	default:
		c.t.Fatalf("the connection is still open after %s", waitFor)
	}
	var ce *websocket.CloseError
	if !errors.As(c.readErr, &ce) {
		c.t.Fatalf("the connection ended without a close frame: %v", c.readErr)
	}
	return ce.Code, ce.Text
}

// connectWS opens a signed-in connection from the staff app's origin and waits for connection_ack.
func connectWS(t *testing.T, url, token string) *wsClient {
	t.Helper()
	conn, _, err := dialWS(url, staffOrigin, nil)
	if err != nil {
		t.Fatalf("dialing: %v", err)
	}
	c := newWSClient(t, conn).read()
	c.init(map[string]any{"Authorization": "Bearer " + token})
	if m := c.expect(); m.Type != "connection_ack" {
		t.Fatalf("got %s %s, want connection_ack", m.Type, m.Payload)
	}
	return c
}

type cardEvent struct {
	Kind   string
	CardID string
	Card   *struct{ ID, Last4, Description string }
}

// cardEventOf decodes a next message of creditCardsChanged, failing on GraphQL errors.
func cardEventOf(t *testing.T, m wsMessage) cardEvent {
	t.Helper()
	var p struct {
		Data   struct{ CreditCardsChanged cardEvent }
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

type subscription struct {
	c  *wsClient
	id string
}

// waitLive renames the probe card until every subscription has delivered
// the change: there is no "subscribed" message in the protocol, and an event
// committed before the server registers a subscription is not sent to it.
// Later probe events are skipped by expect and silent.
func waitLive(t *testing.T, f *fixture, token, probe string, subs ...subscription) {
	t.Helper()
	pending := map[subscription]bool{}
	for _, s := range subs {
		pending[s] = true
		s.c.skip = probe
	}
	deadline := time.Now().Add(3 * waitFor)
	for i := 0; len(pending) > 0; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d subscriptions never delivered an event", len(pending), len(subs))
		}
		renameCard(t, f, token, probe, fmt.Sprintf("probe %d", i))
		waiting := map[*wsClient]int{}
		for s := range pending {
			waiting[s.c]++
		}
		for c := range waiting {
			for waiting[c] > 0 {
				m, ok := c.next(100 * time.Millisecond)
				if !ok {
					break
				}
				if m.Type != "next" || cardEventOf(t, m).CardID != probe {
					t.Fatalf("while waiting for the probe got %s %s %s", m.Type, m.ID, m.Payload)
				}
				if s := (subscription{c, m.ID}); pending[s] {
					delete(pending, s)
					waiting[c]--
				}
			}
		}
	}
}

func TestWebsocketDeliversCardChanges(t *testing.T) {
	f := newFixture(t)
	url := serveWS(t, f)
	acme := newWSTenant(t, f, "Acme")
	probe := addCard(t, f, acme.manager, acme.customer, "4242424242424242", "probe")
	c := connectWS(t, url, acme.manager)
	c.subscribe("cards", cardsChanged, map[string]any{"c": acme.customer})
	waitLive(t, f, acme.manager, probe, subscription{c, "cards"})

	id := addCard(t, f, acme.manager, acme.customer, "4111111111111111", "Office Visa")
	m := c.expect()
	if ev := cardEventOf(t, m); m.ID != "cards" || ev.Kind != "ADDED" || ev.CardID != id || ev.Card == nil || ev.Card.Last4 != "1111" || ev.Card.Description != "Office Visa" {
		t.Fatalf("after adding: %s %s", m.ID, m.Payload)
	}
	renameCard(t, f, acme.manager, id, "Front desk")
	if m := c.expect(); cardEventOf(t, m).Kind != "UPDATED" || cardEventOf(t, m).Card.Description != "Front desk" {
		t.Fatalf("after renaming: %s", m.Payload)
	}
	deleteCard(t, f, acme.manager, id)
	if ev := cardEventOf(t, c.expect()); ev.Kind != "DELETED" || ev.CardID != id || ev.Card != nil {
		t.Fatalf("after deleting: %+v", ev)
	}
	c.silent()

	c.complete("cards")
	if m := c.expect(); m.Type != "complete" || m.ID != "cards" {
		t.Fatalf("after complete got %s %s", m.Type, m.ID)
	}
	renameCard(t, f, acme.manager, probe, "after complete")
	c.skip = ""
	c.silent()
}

func TestWebsocketRefusesConnectionsWithoutAValidToken(t *testing.T) {
	f := newFixture(t)
	url := serveWS(t, f)
	acme := newWSTenant(t, f, "Acme")
	signedOut := f.login(t, "admin@acme.test")
	f.gql(t, signedOut, `mutation { logout }`, nil).decode(t, &struct{}{})
	for _, tc := range []struct {
		name    string
		header  http.Header // on the upgrade request
		payload map[string]any
	}{
		{"no payload", nil, nil},
		{"no Authorization", nil, map[string]any{}},
		{"not a bearer token", nil, map[string]any{"Authorization": acme.manager}},
		{"unknown token", nil, map[string]any{"Authorization": "Bearer cfs_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},
		{"signed-out token", nil, map[string]any{"Authorization": "Bearer " + signedOut}},
		{"not a string", nil, map[string]any{"Authorization": 42}},
		// The upgrade's own headers do not count: the token belongs in connection_init.
		{"token only on the upgrade request", http.Header{"Authorization": {"Bearer " + acme.manager}}, map[string]any{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, _, err := dialWS(url, staffOrigin, tc.header)
			if err != nil {
				t.Fatalf("dialing: %v", err)
			}
			c := newWSClient(t, conn).read()
			c.init(tc.payload)
			if code, reason := c.closed(); code != 4403 || reason != "Forbidden" {
				t.Fatalf("closed with %d %q, want 4403 Forbidden", code, reason)
			}
		})
	}
}

func TestWebsocketOriginCheck(t *testing.T) {
	f := newFixture(t)
	url := serveWS(t, f)
	acme := newWSTenant(t, f, "Acme")
	for _, tc := range []struct {
		name       string
		origin     string
		wantStatus int
	}{
		{"the staff app", staffOrigin, http.StatusSwitchingProtocols},
		{"no Origin: not a browser", "", http.StatusSwitchingProtocols},
		{"another site", evilOrigin, http.StatusForbidden},
		{"a sandboxed page", "null", http.StatusForbidden},
		{"the staff app over http", "http://staff.example", http.StatusForbidden},
		{"a lookalike host", "https://staff.example.evil.example", http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, resp, err := dialWS(url, tc.origin, nil)
			if resp == nil {
				t.Fatalf("no HTTP response: %v", err)
			}
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("HTTP %d, want %d (%v)", resp.StatusCode, tc.wantStatus, err)
			}
			if tc.wantStatus != http.StatusSwitchingProtocols {
				body, _ := io.ReadAll(resp.Body)
				if err != websocket.ErrBadHandshake || !strings.Contains(string(body), `"code":"FORBIDDEN"`) {
					t.Fatalf("refusal: %v %s", err, body)
				}
				return
			}
			if got := conn.Subprotocol(); got != subprotocol {
				t.Errorf("subprotocol %q", got)
			}
			c := newWSClient(t, conn).read()
			c.init(map[string]any{"Authorization": "Bearer " + acme.manager})
			if m := c.expect(); m.Type != "connection_ack" {
				t.Fatalf("got %s, want connection_ack", m.Type)
			}
		})
	}

	t.Run("no graphql-transport-ws", func(t *testing.T) {
		d := websocket.Dialer{HandshakeTimeout: waitFor, Subprotocols: []string{"graphql-ws"}}
		_, resp, err := d.Dial(url, http.Header{"Origin": {staffOrigin}})
		if resp == nil || resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("%v %v, want HTTP 400", resp, err)
		}
	})
}

// A subscription to a customer the viewer may not watch ends at once with
// the error and delivers nothing. gqlgen reports a resolver's error as a
// next message carrying errors, then complete (as graphql-ws's own server
// does); the protocol's error message is for requests that fail validation.
func TestWebsocketSubscriptionTenancy(t *testing.T) {
	f := newFixture(t)
	url := serveWS(t, f)
	acme, globex := newWSTenant(t, f, "Acme"), newWSTenant(t, f, "Globex")
	probe := addCard(t, f, acme.manager, acme.customer, "4242424242424242", "probe")
	var refused []*wsClient
	for _, tc := range []struct {
		who, token, code string
	}{
		{"another company's card manager", globex.manager, "NOT_FOUND"},
		{"a salesperson", acme.salesperson, "FORBIDDEN"},
	} {
		c := connectWS(t, url, tc.token)
		c.subscribe("1", cardsChanged, map[string]any{"c": acme.customer})
		m := c.expect()
		var p struct {
			Data   json.RawMessage
			Errors []gqlError
		}
		if err := json.Unmarshal(m.Payload, &p); err != nil || m.Type != "next" || m.ID != "1" || len(p.Errors) != 1 || (p.Data != nil && string(p.Data) != "null") {
			t.Fatalf("%s got %s %s %s", tc.who, m.Type, m.ID, m.Payload)
		}
		if code, _ := p.Errors[0].Extensions["code"].(string); code != tc.code {
			t.Fatalf("%s got code %q, want %s: %s", tc.who, code, tc.code, m.Payload)
		}
		if m := c.expect(); m.Type != "complete" || m.ID != "1" {
			t.Fatalf("%s got %s %s, want complete", tc.who, m.Type, m.ID)
		}
		refused = append(refused, c)
	}
	watcher := connectWS(t, url, acme.manager)
	watcher.subscribe("1", cardsChanged, map[string]any{"c": acme.customer})
	waitLive(t, f, acme.manager, probe, subscription{watcher, "1"})
	id := addCard(t, f, acme.manager, acme.customer, "4111111111111111", "")
	if ev := cardEventOf(t, watcher.expect()); ev.CardID != id {
		t.Fatalf("the card manager saw %+v", ev)
	}
	for _, c := range refused {
		c.silent()
	}
}

func TestWebsocketDuplicateOperationID(t *testing.T) {
	f := newFixture(t)
	url := serveWS(t, f)
	acme := newWSTenant(t, f, "Acme")
	probe := addCard(t, f, acme.manager, acme.customer, "4242424242424242", "probe")

	t.Run("while the first runs: close 4409", func(t *testing.T) {
		c := connectWS(t, url, acme.manager)
		c.subscribe("op", cardsChanged, map[string]any{"c": acme.customer})
		c.subscribe("op", cardsChanged, map[string]any{"c": acme.customer})
		if code, reason := c.closed(); code != 4409 || reason != "Subscriber for op already exists" {
			t.Fatalf("closed with %d %q", code, reason)
		}
	})
	t.Run("after the server completed it: allowed", func(t *testing.T) {
		c := connectWS(t, url, acme.manager)
		c.subscribe("op", cardsChanged, map[string]any{"c": acme.customer})
		c.complete("op")
		for m := c.expect(); m.Type != "complete"; m = c.expect() {
		}
		c.subscribe("op", cardsChanged, map[string]any{"c": acme.customer})
		waitLive(t, f, acme.manager, probe, subscription{c, "op"})
	})
}

func TestWebsocketOperationCap(t *testing.T) {
	f := newFixture(t)
	url := serveWS(t, f)
	acme := newWSTenant(t, f, "Acme")
	probe := addCard(t, f, acme.manager, acme.customer, "4242424242424242", "probe")
	c := connectWS(t, url, acme.manager)
	vars := map[string]any{"c": acme.customer}
	var subs []subscription
	for i := range server.MaxOperationsPerConnection {
		id := fmt.Sprintf("s%d", i)
		c.subscribe(id, cardsChanged, vars)
		subs = append(subs, subscription{c, id})
	}
	c.subscribe("one too many", cardsChanged, vars)
	m := c.expect()
	var errs []gqlError
	if err := json.Unmarshal(m.Payload, &errs); err != nil || m.Type != "error" || m.ID != "one too many" || len(errs) != 1 || errs[0].Extensions["code"] != "RATE_LIMITED" {
		t.Fatalf("the subscription over the cap got %s %s %s", m.Type, m.ID, m.Payload)
	}
	waitLive(t, f, acme.manager, probe, subs...)

	// The refusal cost the others nothing.
	id := addCard(t, f, acme.manager, acme.customer, "4111111111111111", "")
	got := map[string]bool{}
	for range subs {
		m := c.expect()
		if ev := cardEventOf(t, m); ev.Kind != "ADDED" || ev.CardID != id {
			t.Fatalf("%s got %+v", m.ID, ev)
		}
		got[m.ID] = true
	}
	if len(got) != len(subs) {
		t.Fatalf("events reached %d subscriptions, want %d", len(got), len(subs))
	}
	c.silent()

	// Completing one makes room again.
	c.complete("s0")
	if m := c.expect(); m.Type != "complete" || m.ID != "s0" {
		t.Fatalf("got %s %s, want complete s0", m.Type, m.ID)
	}
	c.subscribe("one too many", cardsChanged, vars)
	waitLive(t, f, acme.manager, probe, subscription{c, "one too many"})
}

func TestWebsocketReadLimit(t *testing.T) {
	f := newFixture(t)
	url := serveWS(t, f)
	acme := newWSTenant(t, f, "Acme")
	c := connectWS(t, url, acme.manager)
	c.subscribe("big", cardsChanged, map[string]any{"c": acme.customer, "pad": strings.Repeat("x", 64<<10)})
	if code, _ := c.closed(); code != websocket.CloseMessageTooBig {
		t.Fatalf("closed with %d, want %d", code, websocket.CloseMessageTooBig)
	}
}

// Open and close 1,000 subscriptions, 20 on each of 50 connections, all
// live at once; afterwards the server holds no more goroutines than before.
func TestWebsocketSubscriptionsLeaveNoGoroutines(t *testing.T) {
	f := newFixture(t)
	url := serveWS(t, f)
	acme := newWSTenant(t, f, "Acme")
	probe := addCard(t, f, acme.manager, acme.customer, "4242424242424242", "probe")
	vars := map[string]any{"c": acme.customer}

	// Warm up: one connection's worth of lazily started goroutines.
	warm := connectWS(t, url, acme.manager)
	warm.subscribe("w", cardsChanged, vars)
	waitLive(t, f, acme.manager, probe, subscription{warm, "w"})
	warm.conn.Close()
	<-warm.done
	time.Sleep(quiet)
	before := goroutines()

	start := time.Now()
	const conns = 50
	clients := make([]*wsClient, conns)
	var subs []subscription
	for i := range clients {
		clients[i] = connectWS(t, url, acme.manager)
		for j := range server.MaxOperationsPerConnection {
			id := fmt.Sprintf("c%d-s%d", i, j)
			clients[i].subscribe(id, cardsChanged, vars)
			subs = append(subs, subscription{clients[i], id})
		}
	}
	waitLive(t, f, acme.manager, probe, subs...)
	peak := runtime.NumGoroutine()
	for _, s := range subs {
		s.c.complete(s.id)
	}
	for _, c := range clients {
		for n := 0; n < server.MaxOperationsPerConnection; {
			if m := c.expect(); m.Type == "complete" {
				n++
			} else if m.Type != "next" {
				t.Fatalf("while completing got %s %s %s", m.Type, m.ID, m.Payload)
			}
		}
	}
	for _, c := range clients {
		c.conn.Close()
		<-c.done
	}
	took := time.Since(start)
	left := leftBehind(before)
	t.Logf("%d subscriptions on %d connections in %s: goroutines %d before, %d at peak, %d after, of which %d new outside the job queue",
		len(subs), conns, took.Round(time.Millisecond), len(before), peak, runtime.NumGoroutine(), len(left))
	if len(left) > 0 {
		t.Fatalf("%d goroutines started since remain:\n%s", len(left), strings.Join(left, "\n\n"))
	}
}

// goroutines returns every goroutine's stack, keyed by its "goroutine N" header.
func goroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	all := map[string]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		id, _, _ := strings.Cut(g, " [")
		all[id] = g
	}
	return all
}

// leftBehind waits up to 5 s for the goroutines started since before to
// end and returns the stacks of those that did not. The job queue's are
// passed over: River starts its maintenance services whenever it wins its
// leader election, which may happen during the test.
func leftBehind(before map[string]string) []string {
	var left []string
	for deadline := time.Now().Add(waitFor); ; time.Sleep(20 * time.Millisecond) {
		left = left[:0]
		for id, g := range goroutines() {
			// The job queue's and the database pool's own goroutines (a pool
			// connection opened meanwhile keeps its reader) are bounded by
			// their configuration, not by the sockets.
			if _, old := before[id]; !old && !strings.Contains(g, "github.com/riverqueue/") && !strings.Contains(g, "pgconn/internal/bgreader") {
				left = append(left, g)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
	}
}

// A subscriber that stops reading fills its socket; the server's writes to
// it block, yet the mutations return promptly and another subscriber gets
// every event.
func TestWebsocketSlowSubscriberBlocksNoOne(t *testing.T) {
	f := newFixture(t)
	url := serveWS(t, f)
	acme := newWSTenant(t, f, "Acme")
	probe := addCard(t, f, acme.manager, acme.customer, "4242424242424242", "probe")
	card := addCard(t, f, acme.manager, acme.customer, "4111111111111111", "")
	vars := map[string]any{"c": acme.customer}

	// The slow client's events are large (the card 300 times over, on each
	// of its 20 subscriptions) and its receive buffer small, so its socket
	// fills after a few changes.
	var heavy strings.Builder
	heavy.WriteString(`subscription($c: ID!) { creditCardsChanged(customerId: $c) { kind cardId`)
	for i := range 300 {
		fmt.Fprintf(&heavy, " c%d: card { description }", i)
	}
	heavy.WriteString(" } }")
	conn, _, err := dialWS(url, staffOrigin, nil)
	if err != nil {
		t.Fatalf("dialing: %v", err)
	}
	slow := newWSClient(t, conn).read()
	slow.init(map[string]any{"Authorization": "Bearer " + acme.manager})
	if m := slow.expect(); m.Type != "connection_ack" {
		t.Fatalf("got %s", m.Type)
	}
	subs := []subscription{}
	for i := range server.MaxOperationsPerConnection {
		id := fmt.Sprintf("heavy%d", i)
		slow.subscribe(id, heavy.String(), vars)
		subs = append(subs, subscription{slow, id})
	}
	fast := connectWS(t, url, acme.manager)
	fast.subscribe("light", cardsChanged, vars)
	waitLive(t, f, acme.manager, probe, append(subs, subscription{fast, "light"})...)
	// From here on the slow client reads nothing, into a small buffer.
	if err := conn.UnderlyingConn().(*net.TCPConn).SetReadBuffer(4 << 10); err != nil {
		t.Fatal(err)
	}
	stopReading(slow)

	const changes = 40
	var slowest time.Duration
	for i := range changes {
		desc := fmt.Sprintf("%03d %s", i, strings.Repeat("z", 90))
		began := time.Now()
		renameCard(t, f, acme.manager, card, desc)
		slowest = max(slowest, time.Since(began))
		ev := cardEventOf(t, fast.expect())
		if ev.Kind != "UPDATED" || ev.Card == nil || ev.Card.Description != desc {
			t.Fatalf("change %d: the other subscriber got %+v", i, ev)
		}
	}
	// A publisher blocked on the full socket would wait out the 10 s write
	// deadline; a loaded machine makes an honest mutation take a second or two.
	if slowest > waitFor {
		t.Errorf("the slowest mutation took %s", slowest)
	}
	// The socket stays full, so its writer is soon parked in the kernel.
	var blocked, waiting int
	for deadline := time.Now().Add(waitFor); blocked == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		blocked, waiting = 0, 0
		for _, g := range goroutines() {
			if strings.Contains(g, "server.(*wsConn).write(") && strings.Contains(g, "[IO wait") {
				blocked++
			}
			if strings.Contains(g, "transport.(*wsConnection).write(") && strings.Contains(g, "[sync.Mutex.Lock") {
				waiting++
			}
		}
	}
	t.Logf("%d changes; slowest mutation %s; on the slow connection %d write blocked in the kernel and %d more queued behind it",
		changes, slowest, blocked, waiting)
	if blocked == 0 {
		t.Fatal("the slow client's socket never filled: the test proved nothing")
	}
}

// stopReading makes c's reader stop taking messages off the socket: it
// fills c.in, after which the reading goroutine blocks.
func stopReading(c *wsClient) {
	for len(c.in) < cap(c.in) {
		c.in <- wsMessage{Type: "filler"}
	}
}

// Signing out ends the session's open subscriptions: the server completes
// them at its next session check.
func TestWebsocketSubscriptionEndsWithItsSession(t *testing.T) {
	f := newFixture(t, func(c *server.Config) { c.SessionRecheck = 50 * time.Millisecond })
	url := serveWS(t, f)
	acme := newWSTenant(t, f, "Acme")
	probe := addCard(t, f, acme.manager, acme.customer, "4242424242424242", "probe")
	c := connectWS(t, url, acme.manager)
	c.subscribe("cards", cardsChanged, map[string]any{"c": acme.customer})
	waitLive(t, f, acme.manager, probe, subscription{c, "cards"})

	r := f.gql(t, acme.manager, `mutation { logout }`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("logout: %s", r.Raw)
	}
	if m := c.expect(); m.Type != "error" || m.ID != "cards" || !strings.Contains(string(m.Payload), `"UNAUTHENTICATED"`) {
		t.Fatalf("after logout the subscription got %s %s, want an UNAUTHENTICATED error", m.Type, m.Payload)
	}
}

// The seed's request flow as the open tab sees it: staff send the form, the
// email's link opens the public page without a session, the customer
// submits, and a subscription opened before that receives ADDED with the card.
func TestCustomerSubmittedCardReachesTheOpenTab(t *testing.T) {
	f := newFixture(t)
	url := serveWS(t, f)
	acme := newWSTenant(t, f, "Acme")
	probe := addCard(t, f, acme.manager, acme.customer, "4242424242424242", "probe")
	c := connectWS(t, url, acme.manager)
	c.subscribe("cards", cardsChanged, map[string]any{"c": acme.customer})
	waitLive(t, f, acme.manager, probe, subscription{c, "cards"})

	f.gql(t, acme.manager, `mutation($c: ID!) { requestCard(input: {customerId: $c, email: "ap@buyer.example"}) { id } }`,
		map[string]any{"c": acme.customer}).decode(t, &struct{}{})
	var token string
	deadline := time.Now().Add(waitFor)
	for token == "" {
		sent, err := f.app.Outbox.List(context.Background(), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(sent) > 1 {
			t.Fatalf("%d emails for one request", len(sent))
		}
		if len(sent) == 1 {
			m := regexp.MustCompile(`/card-request/([A-Za-z0-9_-]+)`).FindStringSubmatch(sent[0].Text)
			if m == nil {
				t.Fatalf("the email has no link:\n%s", sent[0].Text)
			}
			token = m[1]
		} else if time.Now().After(deadline) {
			t.Fatal("no email went out")
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	f.gql(t, "", `query($t: String!) { cardRequestForm(token: $t) { companyName status } }`, map[string]any{"t": token}).decode(t, &struct{}{})
	pay, err := f.app.Sandbox.Tokenize(context.Background(), sandbox.CardInput{
		Number: "5555555555554444", ExpMonth: 12, ExpYear: time.Now().Year() + 3, CVC: "999", PostalCode: "12345",
	})
	if err != nil {
		t.Fatal(err)
	}
	f.gql(t, "", `mutation($t: String!, $p: String!) { submitCardRequest(token: $t, input: {paymentToken: $p}) { status } }`,
		map[string]any{"t": token, "p": pay.Token}).decode(t, &struct{}{})
	ev := cardEventOf(t, c.expect())
	if ev.Kind != "ADDED" || ev.Card == nil || ev.Card.Last4 != "4444" {
		t.Fatalf("the open tab got %+v, want ADDED with the customer's card", ev)
	}
}

// The websocket carries subscriptions only: its session was checked once,
// so a mutation sent over it is refused and changes nothing.
func TestWebsocketRefusesQueriesAndMutations(t *testing.T) {
	f := newFixture(t)
	url := serveWS(t, f)
	acme := newWSTenant(t, f, "Acme")
	id := addCard(t, f, acme.manager, acme.customer, "4242424242424242", "Office")
	c := connectWS(t, url, acme.manager)
	c.subscribe("m", `mutation($id: ID!) { editCreditCard(id: $id, input: {description: "over the socket"}) { id } }`, map[string]any{"id": id})
	m := c.expect()
	if !strings.Contains(string(m.Payload), "subscriptions only") || strings.Contains(string(m.Payload), `"editCreditCard"`) {
		t.Fatalf("a mutation over the websocket got %s %s", m.Type, m.Payload)
	}
	r := f.gql(t, acme.manager, `query($id: ID!) { node(id: $id) { ... on CreditCard { description } } }`, map[string]any{"id": id})
	if strings.Contains(r.Raw, "over the socket") {
		t.Fatal("the mutation over the websocket changed the card")
	}
}

// sendRaw sends one text message as is.
func (c *wsClient) sendRaw(s string) {
	c.t.Helper()
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatalf("sending %s: %v", s, err)
	}
}

// Every protocol violation closes the socket with graphql-transport-ws's code.
func TestWebsocketCloseCodes(t *testing.T) {
	f := newFixture(t, func(c *server.Config) { c.WebsocketInitTimeout = 200 * time.Millisecond })
	url := serveWS(t, f)
	acme := newWSTenant(t, f, "Acme")
	signedIn := func(t *testing.T) *wsClient { return connectWS(t, url, acme.manager) }
	fresh := func(t *testing.T) *wsClient {
		conn, _, err := dialWS(url, staffOrigin, nil)
		if err != nil {
			t.Fatalf("dialing: %v", err)
		}
		return newWSClient(t, conn).read()
	}
	sub := `{"type":"subscribe","id":"1","payload":{"query":"subscription($c: ID!) { creditCardsChanged(customerId: $c) { kind } }","variables":{"c":"` + acme.customer + `"}}}`
	for _, tc := range []struct {
		name   string
		open   func(*testing.T) *wsClient
		send   []string
		code   int
		reason string // "" when any reason will do
	}{
		{"not JSON", fresh, []string{`{"type":`}, 4400, ""},
		{"no type", fresh, []string{`{"id":"1"}`}, 4400, ""},
		{"a type only the server sends", signedIn, []string{`{"type":"next","id":"1","payload":{}}`}, 4400, ""},
		{"an unknown type", signedIn, []string{`{"type":"start","id":"1","payload":{"query":"{ __typename }"}}`}, 4400, ""},
		{"connection_init with a string payload", fresh, []string{`{"type":"connection_init","payload":"token"}`}, 4400, ""},
		{"subscribe without an id", signedIn, []string{`{"type":"subscribe","payload":{"query":"{ __typename }"}}`}, 4400, ""},
		{"subscribe with a numeric id", signedIn, []string{`{"type":"subscribe","id":1,"payload":{"query":"{ __typename }"}}`}, 4400, ""},
		{"subscribe without a query", signedIn, []string{`{"type":"subscribe","id":"1","payload":{}}`}, 4400, ""},
		{"complete without an id", signedIn, []string{`{"type":"complete"}`}, 4400, ""},
		{"subscribe before connection_init", fresh, []string{sub}, 4401, "Unauthorized"},
		{"connection_init without a token", fresh, []string{`{"type":"connection_init"}`}, 4403, "Forbidden"},
		{"no connection_init in time", fresh, nil, 4408, "Connection initialisation timeout"},
		{"the same id twice", signedIn, []string{sub, sub}, 4409, "Subscriber for 1 already exists"},
		{"connection_init twice", signedIn, []string{`{"type":"connection_init","payload":{"Authorization":"Bearer ` + acme.manager + `"}}`}, 4429, "Too many initialisation requests"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.open(t)
			for _, m := range tc.send {
				c.sendRaw(m)
			}
			code, reason := c.closed()
			if code != tc.code || (tc.reason != "" && reason != tc.reason) {
				t.Fatalf("closed with %d %q, want %d %q", code, reason, tc.code, tc.reason)
			}
		})
	}
}

// A ping before connection_init is answered, and the connection then opens as usual.
func TestWebsocketPingBeforeInit(t *testing.T) {
	f := newFixture(t)
	url := serveWS(t, f)
	acme := newWSTenant(t, f, "Acme")
	conn, _, err := dialWS(url, staffOrigin, nil)
	if err != nil {
		t.Fatalf("dialing: %v", err)
	}
	c := newWSClient(t, conn).read()
	c.sendRaw(`{"type":"ping"}`)
	if m := c.expect(); m.Type != "pong" {
		t.Fatalf("got %s, want pong", m.Type)
	}
	c.init(map[string]any{"Authorization": "Bearer " + acme.manager})
	if m := c.expect(); m.Type != "connection_ack" {
		t.Fatalf("got %s %s, want connection_ack", m.Type, m.Payload)
	}
}

// A subscription sent over POST would hold the request open with no
// deadline and outside the socket's caps: it is refused at once.
func TestSubscriptionOverPOSTIsRefused(t *testing.T) {
	f := newFixture(t)
	acme := newWSTenant(t, f, "Acme")
	body, _ := json.Marshal(map[string]any{"query": cardsChanged, "variables": map[string]any{"c": acme.customer}})
	req := postBody(body)
	req.Header.Set("Authorization", "Bearer "+acme.manager)
	r := serveWithin(t, f, req, waitFor)
	if r.hasData() || r.ext("code") != "BAD_USER_INPUT" || r.ext("field") != "operation" {
		t.Fatalf("HTTP %d: %s; want BAD_USER_INPUT on the operation", r.Status, r.Raw)
	}
}

// A server shutting down closes every websocket with 1001 (going away), so
// its clients reconnect at once instead of backing off after a dropped
// connection; a socket that arrives meanwhile gets the same answer.
func TestShutdownClosesWebsocketsGoingAway(t *testing.T) {
	f := newFixture(t)
	url := serveWS(t, f)
	acme := newWSTenant(t, f, "Acme")
	clients := []*wsClient{connectWS(t, url, acme.manager), connectWS(t, url, acme.manager)}
	clients[1].sendRaw(`{"type":"subscribe","id":"1","payload":{"query":"subscription($c: ID!) { creditCardsChanged(customerId: $c) { kind } }","variables":{"c":"` + acme.customer + `"}}}`)
	for deadline := time.Now().Add(waitFor); f.app.Sockets.Len() < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d sockets open, want 2", f.app.Sockets.Len())
		}
	}
	f.app.Sockets.GoingAway()
	for i, c := range clients {
		if code, reason := c.closed(); code != websocket.CloseGoingAway {
			t.Fatalf("client %d closed with %d %q, want 1001", i, code, reason)
		}
	}
	late, _, err := dialWS(url, staffOrigin, nil)
	if err != nil {
		t.Fatalf("dialing: %v", err)
	}
	if code, _ := newWSClient(t, late).read().closed(); code != websocket.CloseGoingAway {
		t.Fatalf("a socket opened while shutting down closed with %d, want 1001", code)
	}
}
