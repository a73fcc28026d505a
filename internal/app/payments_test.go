package app_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"cardfile/ent"
	"cardfile/ent/auditevent"
	"cardfile/ent/creditcard"
	"cardfile/ent/payment"
	"cardfile/internal/events"
	"cardfile/internal/viewer"
)

const applyQ = `mutation($in: ApplyCreditCardPaymentInput!) { applyCreditCardPayment(input: $in) {
	id amount currency status screen reference cardBrand cardLast4 savedCard gatewayTransactionID creditCard { id } } }`

type paymentOut struct {
	ID, Amount, Currency, Status, Screen, Reference, CardBrand, CardLast4, GatewayTransactionID string
	SavedCard                                                                                   bool
	CreditCard                                                                                  *struct{ ID string }
}

func (h *harness) taken() int {
	h.t.Helper()
	n, err := h.app.Sandbox.TakenCharges(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

func (h *harness) apply(token string, in map[string]any) gqlResponse {
	return h.gql(token, applyQ, map[string]any{"in": in})
}

// payments numbers the idempotency keys payIn makes: a count, unlike a clock
// reading, never repeats.
var payments atomic.Int64

func payIn(customer, amount string, extra map[string]any) map[string]any {
	in := map[string]any{"customerId": customer, "amount": amount, "screen": "RECEIVE_PAYMENTS", "idempotencyKey": fmt.Sprintf("key-%08d", payments.Add(1))}
	for k, v := range extra {
		in[k] = v
	}
	return in
}

// Saved cards on a payment screen: the primary preselected, another card
// by choice, and a new card saved while paying.
func TestPayingWithSavedAndNewCards(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Blossom", 1)
	staff := tn.tokens[viewer.Admin]
	cust := fmt.Sprint(tn.customers[0].ID)
	primary := h.addCard(staff, cust, "4111111111111111", "Office", "")
	other := h.addCard(staff, cust, "5555555555554444", "AP", "")
	h.app.DB.CreditCard.Create().SetCompanyID(tn.company.ID).SetCustomerID(tn.customers[0].ID).SetGatewayToken("v1:x").
		SetBrand("VISA").SetLast4("0002").SetExpMonth(1).SetExpYear(2024).SetSource("STAFF").SaveX(h.sys)

	var sel struct {
		SelectableCreditCards struct {
			CanPayByCard  struct{ Allowed bool }
			DefaultCardID string
			Cards         []struct {
				Card       struct{ ID, Last4 string }
				Selectable bool
				Reason     *string
				IsDefault  bool
			}
		}
	}
	h.gql(staff, `query($c: ID!) { selectableCreditCards(customerId: $c, screen: ORDER_ENTRY) { canPayByCard { allowed } defaultCardId
		cards { card { id last4 } selectable reason isDefault } } }`, map[string]any{"c": cust}).decode(t, &sel)
	s := sel.SelectableCreditCards
	if !s.CanPayByCard.Allowed || s.DefaultCardID != primary.ID || len(s.Cards) != 3 || s.Cards[0].Card.ID != primary.ID || !s.Cards[0].IsDefault {
		t.Fatalf("selectable = %+v", s)
	}
	for _, c := range s.Cards {
		if c.Card.Last4 == "0002" && (c.Selectable || c.Reason == nil) {
			t.Fatalf("an expired card is selectable or says nothing: %+v", c)
		}
	}

	var paid struct{ ApplyCreditCardPayment paymentOut }
	h.apply(staff, payIn(cust, "125.5", map[string]any{"creditCardId": s.DefaultCardID, "reference": "INV-1001"})).decode(t, &paid)
	p := paid.ApplyCreditCardPayment
	if p.Status != "APPROVED" || p.Amount != "125.50" || p.Currency != "USD" || p.CardLast4 != "1111" || p.Reference != "INV-1001" || p.GatewayTransactionID == "" {
		t.Fatalf("payment = %+v", p)
	}
	h.apply(staff, payIn(cust, "10", map[string]any{"creditCardId": other.ID, "screen": "ORDER_ENTRY"})).decode(t, &paid)
	if paid.ApplyCreditCardPayment.CardLast4 != "4444" || paid.ApplyCreditCardPayment.Screen != "ORDER_ENTRY" {
		t.Fatalf("payment with the other card = %+v", paid.ApplyCreditCardPayment)
	}

	sub := h.app.Events.Subscribe(t.Context(), events.Cards, tn.customers[0].ID)
	h.apply(staff, payIn(cust, "42.00", map[string]any{"paymentToken": h.paymentToken("6011111111111117"), "saveCard": true,
		"description": "Saved at the counter", "screen": "ACCOUNTS_RECEIVABLE"})).decode(t, &paid)
	p = paid.ApplyCreditCardPayment
	if !p.SavedCard || p.CreditCard == nil || p.CardBrand != "DISCOVER" {
		t.Fatalf("payment with a new saved card = %+v", p)
	}
	saved := h.app.DB.CreditCard.Query().Where(creditcard.Last4("1117")).OnlyX(h.sys)
	if saved.Source != creditcard.SourcePAYMENT || saved.Description != "Saved at the counter" || fmt.Sprint(saved.ID) != p.CreditCard.ID {
		t.Fatalf("saved card = %+v", saved)
	}
	hear(t, sub, "the Manage Credit Cards tab heard nothing of the card saved while paying", func(e events.Event) bool {
		return e.Kind == events.Added && e.ID == saved.ID
	})
	if n := h.taken(); n != 3 {
		t.Fatalf("%d charges taken, want 3", n)
	}

	// History reads the same after the card is deleted.
	h.gql(staff, `mutation($id: ID!) { deleteCreditCard(id: $id) { deletedId } }`, map[string]any{"id": other.ID}).decode(t, &struct{}{})
	var hist struct {
		Node struct {
			Payments struct {
				TotalCount int
				Edges      []struct{ Node paymentOut }
			}
		}
	}
	h.gql(staff, `query($c: ID!) { node(id: $c) { ... on Customer { payments(first: 10, orderBy: {field: CREATED_AT, direction: ASC}) {
		totalCount edges { node { amount cardLast4 creditCard { id } } } } } } }`, map[string]any{"c": cust}).decode(t, &hist)
	if hist.Node.Payments.TotalCount != 3 || hist.Node.Payments.Edges[1].Node.CardLast4 != "4444" || hist.Node.Payments.Edges[1].Node.CreditCard != nil {
		t.Fatalf("history = %+v", hist.Node.Payments)
	}
}

// Each card-payment rule refuses on its own, with no payment row and no charge.
func TestEachEligibilityRuleRefusesOnItsOwn(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Blossom", 3)
	staff := tn.tokens[viewer.Admin]
	usd, cadCust, restricted := tn.customers[0], tn.customers[1], tn.customers[2]
	h.app.DB.Customer.UpdateOne(cadCust).SetDefaultCurrency("CAD").ExecX(h.sys)
	h.app.DB.Customer.UpdateOne(restricted).SetRestrictCardPayments(true).ExecX(h.sys)
	card := func(c int) string {
		return h.addCard(staff, fmt.Sprint(c), "4242424242424242", "", ", allowDuplicate: true").ID
	}
	usdCard, restrictedCard := card(usd.ID), card(restricted.ID)
	cadCard := fmt.Sprint(h.app.DB.CreditCard.Create().SetCompanyID(tn.company.ID).SetCustomerID(cadCust.ID).SetGatewayToken("v1:x").
		SetBrand("VISA").SetLast4("4242").SetExpMonth(12).SetExpYear(2030).SetSource("STAFF").SaveX(h.sys).ID)
	expired := fmt.Sprint(h.app.DB.CreditCard.Create().SetCompanyID(tn.company.ID).SetCustomerID(usd.ID).SetGatewayToken("v1:x").
		SetBrand("VISA").SetLast4("0001").SetExpMonth(1).SetExpYear(2025).SetSource("STAFF").SaveX(h.sys).ID)
	setCompany := func(country, currency string, on bool) {
		h.app.DB.Company.UpdateOne(tn.company).SetCountry(country).SetDefaultCurrency(currency).SetCardIntegrationEnabled(on).ExecX(h.sys)
	}
	cases := []struct {
		name, customer, card, screen, reason string
		company                              func()
	}{
		{"non-US company", fmt.Sprint(usd.ID), usdCard, "RECEIVE_PAYMENTS", "COMPANY_NOT_US", func() { setCompany("CA", "USD", true) }},
		{"CAD company", fmt.Sprint(usd.ID), usdCard, "RECEIVE_PAYMENTS", "COMPANY_NOT_USD", func() { setCompany("US", "CAD", true) }},
		{"integration off", fmt.Sprint(usd.ID), usdCard, "RECEIVE_PAYMENTS", "INTEGRATION_OFF", func() { setCompany("US", "USD", false) }},
		{"CAD customer", fmt.Sprint(cadCust.ID), cadCard, "RECEIVE_PAYMENTS", "CUSTOMER_NOT_USD", nil},
		{"expired card", fmt.Sprint(usd.ID), expired, "RECEIVE_PAYMENTS", "CARD_EXPIRED", nil},
		{"restricted customer in Order Entry", fmt.Sprint(restricted.ID), restrictedCard, "ORDER_ENTRY", "CUSTOMER_RESTRICTED", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.t = t
			setCompany("US", "USD", true)
			if c.company != nil {
				c.company()
			}
			before, rows := h.taken(), h.app.DB.Payment.Query().CountX(h.sys)
			r := h.apply(staff, payIn(c.customer, "10.00", map[string]any{"creditCardId": c.card, "screen": c.screen}))
			if r.code() != "PAYMENT_NOT_ALLOWED" || r.Errors[0].Extensions["reason"] != c.reason {
				t.Fatalf("got %s, want PAYMENT_NOT_ALLOWED %s", r.Raw, c.reason)
			}
			if h.taken() != before || h.app.DB.Payment.Query().CountX(h.sys) != rows {
				t.Fatal("a refused payment charged or left a row")
			}
			// The newest refusal by ID: rows come back in no promised order.
			last, err := h.app.DB.AuditEvent.Query().Where(auditevent.Action("payment.apply"), auditevent.OutcomeEQ(auditevent.OutcomeFAILED)).
				Order(ent.Desc(auditevent.FieldID)).First(h.sys)
			if err != nil || last.Details["reason"] != c.reason {
				t.Fatalf("the refused attempt was not audited with its reason: %+v (%v)", last, err)
			}
		})
	}
	h.t = t
	setCompany("US", "USD", true)
	var ok struct{ ApplyCreditCardPayment paymentOut }
	h.apply(staff, payIn(fmt.Sprint(restricted.ID), "10.00", map[string]any{"creditCardId": restrictedCard})).decode(t, &ok)
	if ok.ApplyCreditCardPayment.Status != "APPROVED" {
		t.Fatal("a restricted customer could not pay in Receive Payments")
	}
}

// Idempotency: a replay returns the first result, a mismatched replay is a
// CONFLICT, and ten concurrent identical calls charge once.
func TestPaymentIdempotency(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Blossom", 1)
	staff := tn.tokens[viewer.Admin]
	cust := fmt.Sprint(tn.customers[0].ID)
	card := h.addCard(staff, cust, "4111111111111111", "", "")
	in := payIn(cust, "99.99", map[string]any{"creditCardId": card.ID, "idempotencyKey": "order-5001-payment"})
	var first, again struct{ ApplyCreditCardPayment paymentOut }
	h.apply(staff, in).decode(t, &first)
	h.apply(staff, in).decode(t, &again)
	if again.ApplyCreditCardPayment.ID != first.ApplyCreditCardPayment.ID {
		t.Fatalf("replay returned payment %s, want %s", again.ApplyCreditCardPayment.ID, first.ApplyCreditCardPayment.ID)
	}
	changed := payIn(cust, "100.00", map[string]any{"creditCardId": card.ID, "idempotencyKey": "order-5001-payment"})
	if r := h.apply(staff, changed); r.code() != "CONFLICT" {
		t.Fatalf("same key, other amount: %s", r.Raw)
	}
	if n := h.taken(); n != 1 {
		t.Fatalf("%d charges taken, want 1", n)
	}

	concurrent := payIn(cust, "10.00", map[string]any{"creditCardId": card.ID, "idempotencyKey": "order-5002-payment"})
	ids := make([]string, 10)
	codes := make([]string, 10)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			r := h.apply(staff, concurrent)
			codes[i] = r.code()
			var out struct{ ApplyCreditCardPayment paymentOut }
			if r.code() == "" {
				_ = jsonUnmarshal(r.Data, &out)
				ids[i] = out.ApplyCreditCardPayment.ID
			}
		})
	}
	wg.Wait()
	for i := range ids {
		if codes[i] != "" || ids[i] != ids[0] {
			t.Fatalf("concurrent identical calls answered differently: ids %v codes %v", ids, codes)
		}
	}
	if n := h.taken(); n != 2 {
		t.Fatalf("%d charges taken after 10 concurrent identical calls, want 2 in all", n)
	}
	if n := h.app.DB.Payment.Query().Where(payment.IdempotencyKey("order-5002-payment")).CountX(h.sys); n != 1 {
		t.Fatalf("%d payment rows, want 1", n)
	}
}

// A gateway that takes the charge but never answers leaves one UNKNOWN
// payment and no second charge; a declined card leaves a DECLINED payment
// and no saved card.
func TestUnknownOutcomesAndDeclines(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Blossom", 1)
	staff := tn.tokens[viewer.Admin]
	cust := fmt.Sprint(tn.customers[0].ID)
	card := h.addCard(staff, cust, "4111111111111111", "", "")

	lost := payIn(cust, "250.77", map[string]any{"creditCardId": card.ID})
	for range 2 {
		r := h.apply(staff, lost)
		if r.code() != "GATEWAY_UNAVAILABLE" || r.Errors[0].Extensions["reason"] != "OUTCOME_UNKNOWN" {
			t.Fatalf("lost answer: %s", r.Raw)
		}
	}
	if n := h.taken(); n != 1 {
		t.Fatalf("%d charges taken, want exactly the one whose answer was lost", n)
	}
	if p := h.app.DB.Payment.Query().OnlyX(h.sys); p.Status != payment.StatusUNKNOWN {
		t.Fatalf("payment status %s, want UNKNOWN", p.Status)
	}

	vault := h.vaultCount()
	r := h.apply(staff, payIn(cust, "80.51", map[string]any{"paymentToken": h.paymentToken("5555555555554444"), "saveCard": true}))
	if r.code() != "CARD_DECLINED" || r.Errors[0].Message != "Insufficient funds" {
		t.Fatalf("declined: %s", r.Raw)
	}
	if n := h.app.DB.Payment.Query().Where(payment.StatusEQ(payment.StatusDECLINED)).CountX(h.sys); n != 1 {
		t.Fatalf("%d declined payments recorded, want 1", n)
	}
	if n := h.app.DB.CreditCard.Query().Where(creditcard.Last4("4444")).CountX(h.sys); n != 0 {
		t.Fatal("a declined card was saved")
	}
	if h.vaultCount() != vault {
		t.Fatal("the declined card was left stored at the gateway")
	}
	if r := h.apply(staff, payIn(cust, "12.78", map[string]any{"creditCardId": card.ID})); r.code() != "GATEWAY_UNAVAILABLE" {
		t.Fatalf("gateway down: %s", r.Raw)
	}
	if n := h.taken(); n != 1 {
		t.Fatalf("%d charges taken, want still 1", n)
	}
}

// Bad amounts are BAD_USER_INPUT and charge nothing.
func TestBadAmountsChargeNothing(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Blossom", 1)
	staff := tn.tokens[viewer.Admin]
	cust := fmt.Sprint(tn.customers[0].ID)
	card := h.addCard(staff, cust, "4111111111111111", "", "")
	for _, amount := range []string{"0", "0.00", "-10.00", "10.001", "1000000000", "1e6", "ten", ""} {
		r := h.apply(staff, payIn(cust, amount, map[string]any{"creditCardId": card.ID}))
		if r.code() != "BAD_USER_INPUT" || r.field() != "amount" {
			t.Fatalf("amount %q: %s", amount, r.Raw)
		}
	}
	if r := h.apply(staff, payIn(cust, "10", map[string]any{})); r.code() != "BAD_USER_INPUT" {
		t.Fatalf("neither card nor token: %s", r.Raw)
	}
	if r := h.apply(staff, payIn(cust, "10", map[string]any{"creditCardId": card.ID, "idempotencyKey": "short"})); r.field() != "idempotencyKey" {
		t.Fatalf("short key: %s", r.Raw)
	}
	if h.taken() != 0 || h.app.DB.Payment.Query().CountX(h.sys) != 0 {
		t.Fatal("bad input charged or left a payment")
	}
}

// A new card cannot be saved while paying once the customer keeps the most
// cards allowed: refused before anything is charged.
func TestSavingACardWhilePayingRespectsTheCardLimit(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Blossom", 1)
	cust := tn.customers[0]
	for i := range 20 {
		h.app.DB.CreditCard.Create().SetCompanyID(tn.company.ID).SetCustomerID(cust.ID).SetGatewayToken("v1:x").
			SetBrand("VISA").SetLast4(fmt.Sprintf("%04d", i)).SetExpMonth(12).SetExpYear(2030).SetSource("STAFF").SetIsPrimary(i == 0).SaveX(h.sys)
	}
	r := h.apply(tn.tokens[viewer.Admin], payIn(fmt.Sprint(cust.ID), "10.00", map[string]any{"paymentToken": h.paymentToken("4242424242424242"), "saveCard": true}))
	if r.code() != "BAD_USER_INPUT" || r.field() != "saveCard" {
		t.Fatalf("got %s", r.Raw)
	}
	if h.taken() != 0 || h.app.DB.Payment.Query().CountX(h.sys) != 0 {
		t.Fatal("a refused payment charged or left a row")
	}
}
