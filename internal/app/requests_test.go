package app_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cardfile/ent/auditevent"
	"cardfile/ent/cardrequest"
	"cardfile/ent/creditcard"
	"cardfile/internal/events"
	"cardfile/internal/mail"
	"cardfile/internal/viewer"

	"entgo.io/ent/dialect"
)

var linkRE = regexp.MustCompile(`http://cardfile\.test/card-request/([A-Za-z0-9_-]+)`)

// outbox waits until the outbox holds n emails and returns them, newest first.
func (h *harness) outbox(n int) []mail.Sent {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		sent, err := h.app.Outbox.List(context.Background(), 100)
		if err != nil {
			h.t.Fatal(err)
		}
		if len(sent) >= n || time.Now().After(deadline) {
			if len(sent) != n {
				h.t.Fatalf("outbox holds %d emails, want %d", len(sent), n)
			}
			return sent
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// linkToken is the token in an email's link.
func linkToken(t testing.TB, m mail.Sent) string {
	t.Helper()
	match := linkRE.FindStringSubmatch(m.Text)
	if match == nil || !strings.Contains(m.HTML, match[0]) {
		t.Fatalf("email has no card-request link in both bodies:\n%s", m.Text)
	}
	return match[1]
}

const (
	requestCardQ = `mutation($c: ID!, $e: String!) { requestCard(input: {customerId: $c, email: $e}) { id status email expiresAt deliveryStatus } }`
	formQ        = `query($t: String!) { cardRequestForm(token: $t) { companyName customerName email expiresAt hostedFieldsUrl status } }`
	submitQ      = `mutation($t: String!, $p: String!) { submitCardRequest(token: $t, input: {paymentToken: $p}) { status companyName } }`
)

type requestOut struct {
	ID, Status, Email, ExpiresAt, DeliveryStatus string
}

func (h *harness) requestCard(token, customerID, email string) requestOut {
	h.t.Helper()
	var out struct{ RequestCard requestOut }
	h.gql(token, requestCardQ, map[string]any{"c": customerID, "e": email}).decode(h.t, &out)
	return out.RequestCard
}

// The seed's request flow: staff send the form; exactly one email with a
// working link goes out; the customer opens it without signing in and
// submits a card; the card is saved as theirs, primary, and the open tab
// hears about it.
func TestRequestCardFlow(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Blossom", 1)
	staff := tn.tokens[viewer.CreditManager]
	cust := tn.customers[0]
	sub := h.app.Events.Subscribe(t.Context(), events.Cards, cust.ID)

	req := h.requestCard(staff, fmt.Sprint(cust.ID), "ap@buyer.example")
	if req.Status != "PENDING" || req.Email != "ap@buyer.example" {
		t.Fatalf("request = %+v", req)
	}
	sent := h.outbox(1)
	if sent[0].To != "ap@buyer.example" || !strings.Contains(sent[0].Text, "Blossom") || !strings.Contains(sent[0].Text, "8 hours") {
		t.Fatalf("email = %+v", sent[0])
	}
	token := linkToken(t, sent[0])
	waitFor(t, func() bool {
		return h.app.DB.CardRequest.Query().Where(cardrequest.DeliveryStatusEQ(cardrequest.DeliveryStatusSENT)).CountX(h.sys) == 1
	})

	var form struct {
		CardRequestForm struct{ CompanyName, CustomerName, Email, HostedFieldsURL, Status string }
	}
	h.gql("", formQ, map[string]any{"t": token}).decode(t, &form)
	f := form.CardRequestForm
	if f.CompanyName != "Blossom" || f.CustomerName != cust.Name || f.Email != "ap@buyer.example" || f.Status != "OPENED" ||
		f.HostedFieldsURL != "http://cardfile.test/sandbox/fields" {
		t.Fatalf("form = %+v", f)
	}

	var done struct{ SubmitCardRequest struct{ Status string } }
	h.gql("", submitQ, map[string]any{"t": token, "p": h.paymentToken("4111111111111111")}).decode(t, &done)
	if done.SubmitCardRequest.Status != "COMPLETED" {
		t.Fatalf("submit = %+v", done)
	}
	cards := h.app.DB.CreditCard.Query().Where(creditcard.CustomerID(cust.ID)).AllX(h.sys)
	if len(cards) != 1 || cards[0].Source != creditcard.SourceCUSTOMER_FORM || !cards[0].IsPrimary || cards[0].CreatedByID != nil {
		t.Fatalf("cards after submit = %+v", cards)
	}
	hear(t, sub, "the open tab heard nothing of the customer's card", func(e events.Event) bool {
		return e.Kind == events.Added && e.ID == cards[0].ID
	})
	r := h.app.DB.CardRequest.Query().OnlyX(h.sys)
	if r.Status != cardrequest.StatusCOMPLETED || r.CreditCardID == nil || *r.CreditCardID != cards[0].ID {
		t.Fatalf("request after submit = %+v", r)
	}
	byCustomer := h.app.DB.AuditEvent.Query().Where(auditevent.ActorKindEQ(auditevent.ActorKindCUSTOMER)).AllX(h.sys)
	if len(byCustomer) != 2 {
		t.Fatalf("the customer's acts were audited %d times, want 2 (card added, request completed)", len(byCustomer))
	}
	// A staff session is no substitute for the token.
	if r := h.gql(staff, formQ, map[string]any{"t": "not-the-token-but-long-enough"}); r.code() != "LINK_UNAVAILABLE" {
		t.Fatalf("staff without the token got %s", r.Raw)
	}
}

// hear waits until sub delivers an event that matches, passing over others:
// on PostgreSQL events travel by NOTIFY and arrive asynchronously, so one
// committed before subscribing (an earlier change) may still arrive after.
func hear(t testing.TB, sub <-chan events.Event, what string, match func(events.Event) bool) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-sub:
			if match(e) {
				return
			}
		case <-timeout:
			t.Fatalf("no event within 10 s: %s", what)
		}
	}
}

func waitFor(t testing.TB, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Links expire exactly 8 hours after sending, work once, and cancel and
// resend revoke them; every unusable link gets the same answer.
func TestRequestLinksExpireWorkOnceAndRevoke(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Blossom", 3)
	staff := tn.tokens[viewer.Admin]
	c0, c1, c2 := fmt.Sprint(tn.customers[0].ID), fmt.Sprint(tn.customers[1].ID), fmt.Sprint(tn.customers[2].ID)

	h.requestCard(staff, c0, "a@buyer.example")
	expiring := linkToken(t, h.outbox(1)[0])
	h.clock.Advance(7*time.Hour + 59*time.Minute)
	if r := h.gql("", formQ, map[string]any{"t": expiring}); r.code() != "" {
		t.Fatalf("at 7h59m the link failed: %s", r.Raw)
	}
	h.clock.Advance(time.Minute + time.Second)
	answers := map[string]string{}
	answers["expired"] = h.gql("", formQ, map[string]any{"t": expiring}).Raw

	staff = h.login("admin@blossom.test", "correct horse battery") // 8 hours later
	used := h.requestCard(staff, c1, "b@buyer.example")
	usedToken := linkToken(t, h.outbox(2)[0])
	h.gql("", submitQ, map[string]any{"t": usedToken, "p": h.paymentToken("4242424242424242")}).decode(t, &struct{}{})
	answers["used"] = h.gql("", formQ, map[string]any{"t": usedToken}).Raw
	if r := h.gql("", submitQ, map[string]any{"t": usedToken, "p": h.paymentToken("5555555555554444")}); r.code() != "LINK_UNAVAILABLE" {
		t.Fatalf("second submit: %s", r.Raw)
	}
	if r := h.gql(staff, `mutation($id: ID!) { resendCardRequest(id: $id) { id } }`, map[string]any{"id": used.ID}); r.code() != "CONFLICT" {
		t.Fatalf("resending a completed request: %s", r.Raw)
	}

	cancelled := h.requestCard(staff, c2, "c@buyer.example")
	cancelledToken := linkToken(t, h.outbox(3)[0])
	h.gql(staff, `mutation($id: ID!) { cancelCardRequest(id: $id) { status } }`, map[string]any{"id": cancelled.ID}).decode(t, &struct{}{})
	answers["cancelled"] = h.gql("", formQ, map[string]any{"t": cancelledToken}).Raw

	var resent struct{ ResendCardRequest requestOut }
	replaced := h.requestCard(staff, c2, "c@buyer.example")
	replacedToken := linkToken(t, h.outbox(4)[0])
	h.gql(staff, `mutation($id: ID!) { resendCardRequest(id: $id) { id status expiresAt } }`, map[string]any{"id": replaced.ID}).decode(t, &resent)
	answers["replaced by resend"] = h.gql("", formQ, map[string]any{"t": replacedToken}).Raw
	freshToken := linkToken(t, h.outbox(5)[0])
	if resent.ResendCardRequest.ID == replaced.ID || resent.ResendCardRequest.Status != "PENDING" {
		t.Fatalf("resend = %+v", resent.ResendCardRequest)
	}
	if exp, _ := time.Parse(time.RFC3339, resent.ResendCardRequest.ExpiresAt); !exp.Equal(h.clock.Now().Add(8 * time.Hour)) {
		t.Fatalf("the resent link expires at %s, want 8 hours from now (%s)", exp, h.clock.Now().Add(8*time.Hour))
	}
	if r := h.gql("", formQ, map[string]any{"t": freshToken}); r.code() != "" {
		t.Fatalf("the resent link does not work: %s", r.Raw)
	}
	answers["unknown"] = h.gql("", formQ, map[string]any{"t": strings.Repeat("A", 43)}).Raw
	answers["garbage"] = h.gql("", formQ, map[string]any{"t": "x"}).Raw

	want := answers["unknown"]
	if !strings.Contains(want, "LINK_UNAVAILABLE") {
		t.Fatalf("unknown token answer: %s", want)
	}
	for why, got := range answers {
		if got != want {
			t.Errorf("%s link answered differently:\n%s\nvs unknown:\n%s", why, got, want)
		}
	}
}

// Twenty concurrent submissions of one link save exactly one card.
func TestConcurrentSubmitsOfOneLinkSaveOneCard(t *testing.T) {
	h := newHarness(t, withPublicRate(1000))
	tn := h.newTenant("Blossom", 1)
	h.requestCard(tn.tokens[viewer.Admin], fmt.Sprint(tn.customers[0].ID), "a@buyer.example")
	token := linkToken(t, h.outbox(1)[0])
	payment := make([]string, 20)
	for i := range payment {
		payment[i] = h.paymentToken("4242424242424242")
	}
	codes := make([]string, 20)
	var wg sync.WaitGroup
	for i := range payment {
		wg.Go(func() {
			codes[i] = h.gql("", submitQ, map[string]any{"t": token, "p": payment[i]}).code()
		})
	}
	wg.Wait()
	oneWins(t, codes, "LINK_UNAVAILABLE")
	if n := h.app.DB.CreditCard.Query().CountX(h.sys); n != 1 {
		t.Fatalf("%d cards saved, want 1", n)
	}
	if n := h.vaultCount(); n != 1 {
		t.Fatalf("the gateway keeps %d cards, want 1 (the losers' cards must be discarded)", n)
	}
}

// Requests that cannot be made get a clear code, leave no row and send no email.
func TestBadCardRequestsLeaveNothing(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Blossom", 1)
	other := h.newTenant("Other", 1)
	staff := tn.tokens[viewer.Admin]
	cust := fmt.Sprint(tn.customers[0].ID)
	cad := h.app.DB.Customer.Create().SetCompanyID(tn.company.ID).SetCode("CAD").SetName("Maple").SetDefaultCurrency("CAD").SaveX(h.sys)
	cases := []struct {
		name, token, customer, email, code, field string
		before                                    func()
	}{
		{name: "not an email", token: staff, customer: cust, email: "ap at buyer", code: "BAD_USER_INPUT", field: "email"},
		{name: "two addresses", token: staff, customer: cust, email: "a@b.example, c@d.example", code: "BAD_USER_INPUT", field: "email"},
		{name: "display name", token: staff, customer: cust, email: "AP <ap@buyer.example>", code: "BAD_USER_INPUT", field: "email"},
		{name: "no domain dot", token: staff, customer: cust, email: "ap@localhost", code: "BAD_USER_INPUT", field: "email"},
		{name: "a card number as the address", token: staff, customer: cust, email: "4111111111111111@buyer.example", code: "BAD_USER_INPUT", field: "email"},
		{name: "another company's customer", token: staff, customer: fmt.Sprint(other.customers[0].ID), email: "a@b.example", code: "NOT_FOUND"},
		{name: "a CAD customer", token: staff, customer: fmt.Sprint(cad.ID), email: "a@b.example", code: "PAYMENT_NOT_ALLOWED"},
		{name: "salesperson", token: tn.tokens[viewer.Salesperson], customer: cust, email: "a@b.example", code: "FORBIDDEN"},
		{name: "anonymous", token: "", customer: cust, email: "a@b.example", code: "UNAUTHENTICATED"},
		{name: "integration off", token: staff, customer: cust, email: "a@b.example", code: "PAYMENT_NOT_ALLOWED",
			before: func() { h.app.DB.Company.UpdateOne(tn.company).SetCardIntegrationEnabled(false).ExecX(h.sys) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.t = t
			if c.before != nil {
				c.before()
			}
			r := h.gql(c.token, requestCardQ, map[string]any{"c": c.customer, "e": c.email})
			if r.code() != c.code || (c.field != "" && r.field() != c.field) {
				t.Fatalf("got %s", r.Raw)
			}
			if n := h.app.DB.CardRequest.Query().CountX(h.sys); n != 0 {
				t.Fatalf("%d card requests saved", n)
			}
		})
	}
	h.t = t
	// Emails are sent only by jobs queued with the request: with none queued,
	// none can go out later, so there is nothing to wait for.
	var queued int
	if err := h.app.DB.SQL.QueryRow(`SELECT COUNT(*) FROM river_job WHERE kind = 'card_request_email'`).Scan(&queued); err != nil {
		t.Fatal(err)
	}
	if queued != 0 {
		t.Fatalf("%d emails were queued for refused requests", queued)
	}
	h.outbox(0)
}

// Overdue requests are marked EXPIRED by the periodic job, and open tabs hear it.
func TestOverdueRequestsExpire(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Blossom", 1)
	cust := tn.customers[0]
	sub := h.app.Events.Subscribe(t.Context(), events.Requests, cust.ID)
	h.requestCard(tn.tokens[viewer.Admin], fmt.Sprint(cust.ID), "ap@buyer.example")
	h.clock.Advance(8*time.Hour + time.Second)
	waitFor(t, func() bool {
		return h.app.DB.CardRequest.Query().Where(cardrequest.StatusEQ(cardrequest.StatusEXPIRED)).CountX(h.sys) == 1
	})
	hear(t, sub, "open tabs heard nothing of the expiry", func(e events.Event) bool { return e.Kind == "EXPIRED" })
}

// The raw link token exists only in the email: not in any table (the job
// and the outbox hold it sealed, the request its hash) and not in the log.
func TestRawLinkTokenIsStoredNowhere(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Blossom", 1)
	h.requestCard(tn.tokens[viewer.Admin], fmt.Sprint(tn.customers[0].ID), "ap@buyer.example")
	token := linkToken(t, h.outbox(1)[0])
	h.gql("", formQ, map[string]any{"t": token}).decode(t, &struct{}{})
	h.gql("", submitQ, map[string]any{"t": token, "p": h.paymentToken("4242424242424242")}).decode(t, &struct{}{})
	h.gql("", formQ, map[string]any{"t": token}) // a refused reuse, logged as such
	tables := map[string]bool{}
	for _, c := range h.allCells() {
		tables[c.table] = true
		if strings.Contains(c.text, token) {
			t.Fatalf("the raw link token is stored in %s.%s", c.table, c.column)
		}
	}
	for _, must := range []string{"card_requests", "river_job", "outbox_messages"} {
		if !tables[must] {
			t.Fatalf("the scan did not read %s (tables: %v)", must, tables)
		}
	}
	if strings.Contains(h.logs.String(), token) {
		t.Fatal("the raw link token is in the log")
	}
}

// raceWithRawUpdate holds a transaction that changes a request's status
// while a GraphQL call works on the same request, then commits: the call
// must never overwrite the status it did not expect.
func raceWithRawUpdate(t *testing.T, h *harness, id int, status string, call func() gqlResponse) gqlResponse {
	t.Helper()
	ctx := context.Background()
	tx, err := h.app.DB.SQL.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }() // after a failed wait: let the call end
	if _, err := tx.ExecContext(ctx, `UPDATE card_requests SET status = $1 WHERE id = $2`, status, id); err != nil {
		t.Fatal(err)
	}
	var holder int
	postgres := h.app.DB.Dialect == dialect.Postgres
	if postgres {
		if err := tx.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&holder); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan gqlResponse, 1)
	go func() { done <- call() }()
	if postgres {
		// Commit only once the call waits on the row held here: it has read
		// the old status and now must not write over the new one. (On SQLite
		// a writing transaction begins only after this one ends, so the call
		// reads the new status whenever it starts; there is nothing to wait for.)
		waitFor(t, func() bool {
			var waiting bool
			err := h.app.DB.SQL.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid)))`, holder).Scan(&waiting)
			return err == nil && waiting
		})
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return <-done
}

// A link cancelled while the customer opens it stays cancelled; a request
// completed while staff cancel it stays completed.
func TestRequestStatusChangesNeverOverwriteEachOther(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Blossom", 2)
	staff := tn.tokens[viewer.Admin]

	req := h.requestCard(staff, fmt.Sprint(tn.customers[0].ID), "a@buyer.example")
	token := linkToken(t, h.outbox(1)[0])
	id, _ := strconv.Atoi(req.ID)
	if r := raceWithRawUpdate(t, h, id, "CANCELLED", func() gqlResponse { return h.gql("", formQ, map[string]any{"t": token}) }); r.code() != "LINK_UNAVAILABLE" {
		t.Fatalf("opening a link cancelled meanwhile: %s", r.Raw)
	}
	if got := h.app.DB.CardRequest.GetX(h.sys, id).Status; got != cardrequest.StatusCANCELLED {
		t.Fatalf("a cancelled request became %s", got)
	}

	req = h.requestCard(staff, fmt.Sprint(tn.customers[1].ID), "b@buyer.example")
	h.outbox(2)
	id, _ = strconv.Atoi(req.ID)
	cancel := func() gqlResponse {
		return h.gql(staff, `mutation($id: ID!) { cancelCardRequest(id: $id) { status } }`, map[string]any{"id": req.ID})
	}
	if r := raceWithRawUpdate(t, h, id, "COMPLETED", cancel); r.code() != "CONFLICT" {
		t.Fatalf("cancelling a request completed meanwhile: %s", r.Raw)
	}
	if got := h.app.DB.CardRequest.GetX(h.sys, id).Status; got != cardrequest.StatusCOMPLETED {
		t.Fatalf("a completed request became %s", got)
	}
}
