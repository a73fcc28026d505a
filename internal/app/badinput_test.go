package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"cardfile/internal/viewer"
)

// vaultCount is how many cards the sandbox gateway stores: a refused add
// must not leave a stored card behind at the gateway either.
func (h *harness) vaultCount() int {
	h.t.Helper()
	var n int
	if err := h.app.DB.SQL.QueryRow("SELECT count(*) FROM sandbox_cards").Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

// Every kind of bad input gets a clear code, and changes nothing: not our
// database, not the gateway's vault.
func TestBadInputGetsClearCodesAndChangesNothing(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Blossom", 2)
	other := h.newTenant("Other", 1)
	admin := tn.tokens[viewer.Admin]
	cust := fmt.Sprint(tn.customers[0].ID)
	card := h.addCard(admin, cust, "4111111111111111", "Office", "")
	otherCard := h.addCard(other.tokens[viewer.Admin], fmt.Sprint(other.customers[0].ID), "4111111111111111", "", "")
	cad := fmt.Sprint(h.app.DB.Customer.Create().SetCompanyID(tn.company.ID).SetCode("CAD1").SetName("Maple").SetDefaultCurrency("CAD").SaveX(h.sys).ID)
	used := h.paymentToken("4242424242424242")
	h.gql(admin, `mutation($c: ID!, $t: String!) { addCreditCard(input: {customerId: $c, paymentToken: $t}) { id } }`,
		map[string]any{"c": fmt.Sprint(tn.customers[1].ID), "t": used}).decode(t, &struct{}{})

	const add = `mutation($c: ID!, $t: String!, $d: String) { addCreditCard(input: {customerId: $c, paymentToken: $t, description: $d}) { id } }`
	const edit = `mutation($id: ID!, $d: String!) { editCreditCard(id: $id, input: {description: $d}) { id } }`
	deep := "{ customers { edges { node { " + strings.Repeat("creditCards { customer { ", 6) + "id" + strings.Repeat(" } }", 6) + " } } } }"
	var flood strings.Builder
	flood.WriteString("{")
	for i := range 2000 {
		fmt.Fprintf(&flood, " a%d: viewer { id }", i)
	}
	flood.WriteString(" }")
	manyIDs := make([]string, 101)
	for i := range manyIDs {
		manyIDs[i] = card.ID
	}

	cases := []struct {
		name      string
		query     string
		vars      map[string]any
		code      string
		field     string
		beforeRun func() // runs before the snapshot is compared, after it is taken
	}{
		{name: "unknown card id", query: edit, vars: map[string]any{"id": "8590934592", "d": "x"}, code: "NOT_FOUND"},
		{name: "a customer id where a card id belongs", query: edit, vars: map[string]any{"id": cust, "d": "x"}, code: "NOT_FOUND"},
		{name: "another company's card", query: edit, vars: map[string]any{"id": otherCard.ID, "d": "x"}, code: "NOT_FOUND"},
		{name: "unknown customer", query: add, vars: map[string]any{"c": "12894901888", "t": h.paymentToken("4242424242424242")}, code: "NOT_FOUND"},
		{name: "malformed id", query: edit, vars: map[string]any{"id": "not-an-id", "d": "x"}, code: "BAD_USER_INPUT", field: "id"},
		{name: "empty description", query: edit, vars: map[string]any{"id": card.ID, "d": "   "}, code: "BAD_USER_INPUT", field: "description"},
		{name: "oversized description", query: edit, vars: map[string]any{"id": card.ID, "d": strings.Repeat("x", 101)}, code: "BAD_USER_INPUT", field: "description"},
		{name: "card number typed into a description", query: edit, vars: map[string]any{"id": card.ID, "d": "use 4111 1111 1111 1111"}, code: "BAD_USER_INPUT", field: "description"},
		{name: "card number in a new card's description", query: add, vars: map[string]any{"c": cust, "t": h.paymentToken("5555555555554444"), "d": "5555555555554444"}, code: "BAD_USER_INPUT", field: "description"},
		{name: "reused payment token", query: add, vars: map[string]any{"c": cust, "t": used}, code: "BAD_USER_INPUT", field: "paymentToken"},
		{name: "made-up payment token", query: add, vars: map[string]any{"c": cust, "t": "sbpt_madeup"}, code: "BAD_USER_INPUT", field: "paymentToken"},
		{name: "a card number as the payment token", query: add, vars: map[string]any{"c": cust, "t": "4111111111111111"}, code: "BAD_USER_INPUT", field: "paymentToken"},
		{name: "card declined when the gateway stores it", query: add, vars: map[string]any{"c": cust, "t": h.paymentToken("4000000000000101")}, code: "CARD_DECLINED"},
		{name: "a card for a customer who cannot pay by card", query: add, vars: map[string]any{"c": cad, "t": h.paymentToken("4242424242424242")}, code: "PAYMENT_NOT_ALLOWED"},
		{name: "the same card again", query: add, vars: map[string]any{"c": cust, "t": h.paymentToken("4111111111111111")}, code: "CONFLICT"},
		{name: "first: 100000", query: `{ customers(first: 100000) { totalCount } }`, code: "BAD_USER_INPUT", field: "first"},
		{name: "negative last", query: `{ customers(last: -1) { totalCount } }`, code: "BAD_USER_INPUT", field: "last"},
		{name: "too many node ids", query: `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, vars: map[string]any{"ids": manyIDs}, code: "BAD_USER_INPUT", field: "ids"},
		{name: "deeply nested query", query: deep, code: "BAD_USER_INPUT", field: "query"},
		{name: "alias flood", query: flood.String(), code: "BAD_USER_INPUT", field: "query"},
		{name: "unknown field", query: `{ customers { edges { node { cardNumber } } } }`, code: "BAD_USER_INPUT", field: "query"},
		{name: "syntax error", query: `{ customers { `, code: "BAD_USER_INPUT", field: "query"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.t = t
			before, vault := h.snapshot(), h.vaultCount()
			r := h.gql(admin, c.query, c.vars)
			if r.code() != c.code || (c.field != "" && r.field() != c.field) {
				t.Fatalf("got code %q field %q: %s; want %s on %q", r.code(), r.field(), r.Raw, c.code, c.field)
			}
			if len(r.Errors[0].Message) == 0 || strings.Contains(r.Errors[0].Message, "internal") {
				t.Fatalf("the message does not say what is wrong: %q", r.Errors[0].Message)
			}
			if after := h.snapshot(); after != before {
				t.Fatalf("the database changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if v := h.vaultCount(); v != vault {
				t.Fatalf("the gateway vault went from %d to %d cards", vault, v)
			}
		})
	}

	t.Run("declined message is the processor's", func(t *testing.T) {
		h.t = t
		r := h.gql(admin, add, map[string]any{"c": cust, "t": h.paymentToken("4000000000000101")})
		if r.code() != "CARD_DECLINED" || r.Errors[0].Message != "Do not honor" {
			t.Fatalf("got %s", r.Raw)
		}
	})

	t.Run("expired payment token", func(t *testing.T) {
		h.t = t
		tok := h.paymentToken("4242424242424242")
		h.clock.Advance(15*time.Minute + time.Second)
		fresh := h.login("admin@blossom.test", "correct horse battery") // the old session idled out too
		before, vault := h.snapshot(), h.vaultCount()
		r := h.gql(fresh, add, map[string]any{"c": cust, "t": tok})
		if r.code() != "BAD_USER_INPUT" || r.field() != "paymentToken" {
			t.Fatalf("got %s", r.Raw)
		}
		if h.snapshot() != before || h.vaultCount() != vault {
			t.Fatal("an expired payment token changed something")
		}
		admin = fresh
	})

	t.Run("keeping a duplicate when asked", func(t *testing.T) {
		h.t = t
		dup := h.addCard(admin, cust, "4111111111111111", "Second copy", ", allowDuplicate: true")
		if dup.Last4 != "1111" || dup.IsPrimary {
			t.Fatalf("duplicate = %+v", dup)
		}
	})

	transport := []struct {
		name, contentType string
		body              []byte
		status            int
	}{
		{"10 MB body", "application/json", append([]byte(`{"query":"{ viewer { id } }","variables":{"x":"`), append(bytes.Repeat([]byte("a"), 10<<20), []byte(`"}}`)...)...), http.StatusRequestEntityTooLarge},
		{"malformed JSON", "application/json", []byte(`{"query": "{ viewer { id } }"`), http.StatusBadRequest},
		{"not JSON at all", "application/json", []byte(`hello`), http.StatusBadRequest},
	}
	for _, c := range transport {
		t.Run(c.name, func(t *testing.T) {
			h.t = t
			before := h.snapshot()
			r := h.post(admin, c.contentType, c.body)
			if r.Status != c.status || r.code() != "BAD_USER_INPUT" {
				t.Fatalf("got HTTP %d %s; want %d with BAD_USER_INPUT", r.Status, r.Raw, c.status)
			}
			if h.snapshot() != before {
				t.Fatal("the database changed")
			}
		})
	}

	t.Run("declined at entry in the hosted fields", func(t *testing.T) {
		h.t = t
		body, _ := json.Marshal(map[string]any{"number": "4000 0000 0000 0002", "expMonth": 12, "expYear": 2030, "cvc": "123", "postalCode": "12345"})
		req := httptest.NewRequest(http.MethodPost, "/sandbox/tokens", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.app.Handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusPaymentRequired || !strings.Contains(rec.Body.String(), "do_not_honor") {
			t.Fatalf("got HTTP %d %s", rec.Code, rec.Body)
		}
	})
}
