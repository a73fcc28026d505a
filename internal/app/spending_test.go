package app_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"

	"cardfile/ent/cardrequest"
	"cardfile/ent/creditcard"
	"cardfile/internal/gateway/sandbox"
	"cardfile/internal/viewer"
)

// tokenizeAs tokenizes an approved test card with this cardholder name.
func (h *harness) tokenizeAs(name string) string {
	h.t.Helper()
	res, err := h.app.Sandbox.Tokenize(context.Background(), sandbox.CardInput{
		Number: "4242424242424242", ExpMonth: 12, ExpYear: h.clock.Now().Year() + 3, CVC: "999", PostalCode: "12345", Name: name,
	})
	if err != nil {
		h.t.Fatalf("tokenizing a test card: %v", err)
	}
	return res.Token
}

// spentTokens is how many payment tokens the sandbox has exchanged.
func (h *harness) spentTokens() int {
	h.t.Helper()
	var n int
	if err := h.app.DB.SQL.QueryRow("SELECT count(*) FROM sandbox_payment_tokens WHERE used_at IS NOT NULL").Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

// A payment token works once, so every check the caller's input can fail
// runs before the gateway exchanges it: after a whole series of refused
// calls (adds, payments with a new card, a card-request submit) that all
// offer the same token, nothing has changed and the token still saves a
// card.
func TestRefusedInputLeavesThePaymentTokenUsable(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Blossom", 2)
	other := h.newTenant("Other", 1)
	admin := tn.tokens[viewer.Admin]
	cust, full := fmt.Sprint(tn.customers[0].ID), tn.customers[1]
	cad := fmt.Sprint(h.app.DB.Customer.Create().SetCompanyID(tn.company.ID).SetCode("CAD1").SetName("Maple").SetDefaultCurrency("CAD").SaveX(h.sys).ID)
	// A request link for a customer who then fills up on cards.
	h.requestCard(admin, fmt.Sprint(full.ID), "ap@full.example")
	link := linkToken(t, h.outbox(1)[0])
	for i := range 20 {
		h.app.DB.CreditCard.Create().SetCompanyID(tn.company.ID).SetCustomerID(full.ID).SetGatewayToken("v1:x").
			SetBrand("VISA").SetLast4(fmt.Sprintf("%04d", i)).SetExpMonth(12).SetExpYear(2030).SetSource("STAFF").SetIsPrimary(i == 0).SaveX(h.sys)
	}
	fullID := fmt.Sprint(full.ID)

	pt := h.paymentToken("4242424242424242")
	const add = `mutation($c: ID!, $t: String!, $d: String) { addCreditCard(input: {customerId: $c, paymentToken: $t, description: $d}) { id } }`
	pay := func(customer string, extra map[string]any) map[string]any {
		in := map[string]any{"paymentToken": pt}
		maps.Copy(in, extra)
		return map[string]any{"in": payIn(customer, "10.00", in)}
	}
	cases := []struct {
		name, token, query string
		vars               map[string]any
		code, field        string
	}{
		{"add: description over 100 characters", admin, add, map[string]any{"c": cust, "t": pt, "d": strings.Repeat("é", 101)}, "BAD_USER_INPUT", "description"},
		{"add: a card number in the description", admin, add, map[string]any{"c": cust, "t": pt, "d": "card 4111 1111 1111 1111"}, "BAD_USER_INPUT", "description"},
		{"add: the customer keeps the most cards allowed", admin, add, map[string]any{"c": fullID, "t": pt}, "BAD_USER_INPUT", "customerId"},
		{"add: a CAD customer", admin, add, map[string]any{"c": cad, "t": pt}, "PAYMENT_NOT_ALLOWED", ""},
		{"add: another company's customer", admin, add, map[string]any{"c": fmt.Sprint(other.customers[0].ID), "t": pt}, "NOT_FOUND", ""},
		{"add: a role that may not manage cards", tn.tokens[viewer.Salesperson], add, map[string]any{"c": cust, "t": pt}, "FORBIDDEN", ""},
		{"pay: save a card for a customer with the most cards", admin, applyQ, pay(fullID, map[string]any{"saveCard": true}), "BAD_USER_INPUT", "saveCard"},
		{"pay: reference over 64 characters", admin, applyQ, pay(cust, map[string]any{"reference": strings.Repeat("é", 65)}), "BAD_USER_INPUT", "reference"},
		{"pay: description over 100 characters", admin, applyQ, pay(cust, map[string]any{"saveCard": true, "description": strings.Repeat("é", 101)}), "BAD_USER_INPUT", "description"},
		// A refused payment is audited (outcome FAILED) on purpose; the
		// snapshot compares everything else.
		{"pay: a CAD customer", admin, applyQ, pay(cad, nil), "PAYMENT_NOT_ALLOWED", ""},
		{"pay: an amount of nothing", admin, applyQ, pay(cust, map[string]any{"amount": "0.00"}), "BAD_USER_INPUT", "amount"},
		{"submit: the customer keeps the most cards allowed", "", submitQ, map[string]any{"t": link, "p": pt}, "BAD_USER_INPUT", "customerId"},
		{"submit: an unknown link", "", submitQ, map[string]any{"t": strings.Repeat("x", 43), "p": pt}, "LINK_UNAVAILABLE", ""},
	}
	vault := h.vaultCount()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.t = t
			before, spent := h.snapshot(), h.spentTokens()
			r := h.gql(c.token, c.query, c.vars)
			if r.code() != c.code || r.field() != c.field {
				t.Fatalf("got %s; want %s on %q", r.Raw, c.code, c.field)
			}
			if h.spentTokens() != spent {
				t.Fatal("the refused call spent the payment token")
			}
			after := h.snapshot()
			if c.code == "PAYMENT_NOT_ALLOWED" && c.query == applyQ {
				before, after = withoutAuditCount(before), withoutAuditCount(after)
			}
			if after != before {
				t.Fatalf("the refused call changed the data:\n%s\nwas:\n%s", after, before)
			}
			if n := h.vaultCount(); n != vault {
				t.Fatalf("the gateway keeps %d cards, was %d", n, vault)
			}
			if n := h.app.DB.Payment.Query().CountX(h.sys); n != 0 || h.taken() != 0 {
				t.Fatalf("%d payments, %d charges after a refused call", n, h.taken())
			}
		})
	}
	h.t = t
	if st := h.app.DB.CardRequest.Query().OnlyX(h.sys).Status; st == cardrequest.StatusCOMPLETED {
		t.Fatal("a refused submit completed the request")
	}
	// The token that every refused call offered still works.
	var out struct{ AddCreditCard card }
	h.gql(admin, `mutation($c: ID!, $t: String!) { addCreditCard(input: {customerId: $c, paymentToken: $t}) { `+cardFields+` } }`,
		map[string]any{"c": cust, "t": pt}).decode(t, &out)
	if out.AddCreditCard.Last4 != "4242" {
		t.Fatalf("added %+v", out.AddCreditCard)
	}
}

// withoutAuditCount is a snapshot without its audit event count.
func withoutAuditCount(snapshot string) string {
	var keep []string
	for _, l := range strings.Split(snapshot, "\n") {
		if !strings.HasPrefix(l, "audit events ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// Text limits count characters everywhere: what the API accepts as 100
// characters (of two bytes each) the database keeps, whether staff typed it
// or the gateway sent it, and PostgreSQL's column sizes say the same.
func TestTextLimitsCountCharacters(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Blossom", 1)
	admin := tn.tokens[viewer.Admin]
	cust := fmt.Sprint(tn.customers[0].ID)
	desc, name, ref := strings.Repeat("é", 100), strings.Repeat("é", 100), strings.Repeat("é", 64)

	var added struct{ AddCreditCard card }
	h.gql(admin, `mutation($c: ID!, $t: String!, $d: String) { addCreditCard(input: {customerId: $c, paymentToken: $t, description: $d}) { `+cardFields+` } }`,
		map[string]any{"c": cust, "t": h.tokenizeAs(name), "d": strings.Repeat("é", 60)}).decode(t, &added)
	h.gql(admin, `mutation($id: ID!, $d: String!) { editCreditCard(id: $id, input: {description: $d}) { id } }`,
		map[string]any{"id": added.AddCreditCard.ID, "d": desc}).decode(t, &struct{}{})
	var paid struct{ ApplyCreditCardPayment paymentOut }
	h.apply(admin, payIn(cust, "12.00", map[string]any{"paymentToken": h.paymentToken("5555555555554444"), "saveCard": true,
		"description": desc, "reference": ref})).decode(t, &paid)
	if p := paid.ApplyCreditCardPayment; p.Status != "APPROVED" || !p.SavedCard || p.Reference != ref {
		t.Fatalf("payment = %+v", p)
	}
	for _, c := range h.app.DB.CreditCard.Query().Order(creditcard.ByID()).AllX(h.sys) {
		if c.Description != desc {
			t.Errorf("card %d keeps description %q (%d characters)", c.ID, c.Description, len([]rune(c.Description)))
		}
	}
	if c := h.app.DB.CreditCard.Query().Where(creditcard.Last4("4242")).OnlyX(h.sys); c.CardholderName != name {
		t.Errorf("cardholder name kept as %q", c.CardholderName)
	}

	if h.app.DB.Dialect != "postgres" {
		return // SQLite's text columns have no size
	}
	for col, want := range map[string]int{"credit_cards.description": 100, "credit_cards.cardholder_name": 100,
		"credit_cards.billing_zip": 10, "payments.reference": 64} {
		table, column, _ := strings.Cut(col, ".")
		var size int
		err := h.app.DB.SQL.QueryRow(`SELECT character_maximum_length FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2 AND data_type = 'character varying'`,
			table, column).Scan(&size)
		if err != nil || size != want {
			t.Errorf("%s: varchar(%d), %v; want varchar(%d)", col, size, err, want)
		}
	}
}
