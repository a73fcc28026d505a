package app_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"cardfile/ent/cardrequest"
	"cardfile/internal/db/dbtest"
	"cardfile/internal/viewer"

	"github.com/vmihailenco/msgpack/v5"
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

// badCase is one bad input and the answer it must get.
type badCase struct {
	name  string
	token string // the caller; "" means anonymous, admin unless anon is set
	anon  bool
	query string
	vars  map[string]any
	code  string
	field string
	// audited lists the audit events the refusal writes on purpose
	// ("OUTCOME action", oldest first); nil means none at all.
	audited []string
	// spends marks a refusal the gateway had to see: it exchanged the
	// single-use payment token to learn the card (a decline, a duplicate),
	// so the token is spent, as at a real gateway.
	spends bool
	// attempted marks a payment the gateway refused: the attempt is kept on
	// purpose as a FAILED or DECLINED payment (it owns its idempotency key)
	// and audited FAILED. Nothing else may change.
	attempted bool
}

// spentTokens also ignores when payment tokens were used, for spends cases.
var spentTokens = with(unchanged, "sandbox_payment_tokens", dbtest.Rule{Columns: []string{"token_hash", "brand", "last4", "exp_month", "exp_year", "created_at", "expires_at"}})

// attempts also leaves out refused payment attempts, for attempted cases,
// and the event that announces each (with the company's event counter).
var attempts = with(with(with(spentTokens, "payments", dbtest.Rule{Where: "status NOT IN ('FAILED', 'DECLINED')"}),
	"events", dbtest.Rule{Where: "topic <> 'payments' OR kind NOT IN ('FAILED', 'DECLINED')"}),
	"event_sequences", dbtest.Rule{Skip: true})

func with(rules map[string]dbtest.Rule, table string, r dbtest.Rule) map[string]dbtest.Rule {
	rules = maps.Clone(rules)
	rules[table] = r
	return rules
}

// expectBad runs c and checks its code and field, that the message says
// what is wrong, that every table hashes as before (see unchanged), and that
// exactly the audit events c.audited were written.
func (h *harness) expectBad(t *testing.T, admin string, c badCase) {
	h.t = t
	rules := unchanged
	switch {
	case c.attempted:
		rules = attempts
	case c.spends:
		rules = spentTokens
	}
	token := c.token
	if token == "" && !c.anon {
		token = admin
	}
	before, last := dbtest.Checksums(t, h.app.DB.SQL, h.app.DB.Dialect, rules), h.lastAuditID()
	r := h.gql(token, c.query, c.vars)
	if r.code() != c.code || r.field() != c.field {
		t.Errorf("got code %q field %q: %s; want %s on %q", r.code(), r.field(), r.Raw, c.code, c.field)
	} else if len(r.Errors[0].Message) == 0 || strings.Contains(r.Errors[0].Message, "internal") {
		t.Errorf("the message does not say what is wrong: %q", r.Errors[0].Message)
	}
	after := dbtest.Checksums(t, h.app.DB.SQL, h.app.DB.Dialect, rules)
	if diff := dbtest.ChecksumDiff(before, after); len(diff) > 0 {
		t.Errorf("a refused call changed tables:\n%s", strings.Join(diff, "\n"))
	}
	if got := h.refusals(last); strings.Join(got, "; ") != strings.Join(c.audited, "; ") {
		t.Errorf("audited %q, want %q", got, c.audited)
	}
}

// settle waits until every live card request's email has gone out, so the
// delivery job's own update cannot land between two checksums.
func (h *harness) settle() {
	h.t.Helper()
	waitFor(h.t, func() bool {
		return h.app.DB.CardRequest.Query().Where(cardrequest.DeliveryStatusEQ(cardrequest.DeliveryStatusQUEUED),
			cardrequest.StatusIn(cardrequest.StatusPENDING, cardrequest.StatusOPENED)).CountX(h.sys) == 0
	})
}

// cursor encodes v as entgql does (msgpack in base64), for made-up cursors.
func cursor(v any) string {
	b, err := msgpack.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawStdEncoding.EncodeToString(b)
}

// Every kind of bad input, to every query and mutation, gets a clear code
// and the field at fault, never INTERNAL, and changes nothing: every table
// hashes the same afterwards (River's bookkeeping and the audited refusals
// aside, see unchanged), the gateway's vault and tokens included.
func TestBadInputGetsClearCodesAndChangesNothing(t *testing.T) {
	h := newHarness(t, withPublicRate(100000))
	tn := h.newTenant("Blossom", 2)
	other := h.newTenant("Other", 1)
	admin := tn.tokens[viewer.Admin]
	cust := fmt.Sprint(tn.customers[0].ID)
	card := h.addCard(admin, cust, "4111111111111111", "Office", "")
	otherCust := fmt.Sprint(other.customers[0].ID)
	otherCard := h.addCard(other.tokens[viewer.Admin], otherCust, "4111111111111111", "", "")
	cad := fmt.Sprint(h.app.DB.Customer.Create().SetCompanyID(tn.company.ID).SetCode("CAD1").SetName("Maple").SetDefaultCurrency("CAD").SaveX(h.sys).ID)
	expired := fmt.Sprint(h.app.DB.CreditCard.Create().SetCompanyID(tn.company.ID).SetCustomerID(tn.customers[0].ID).SetGatewayToken("v1:x").
		SetBrand("VISA").SetLast4("0002").SetExpMonth(1).SetExpYear(2024).SetSource("STAFF").SaveX(h.sys).ID)
	used := h.paymentToken("4242424242424242")
	h.gql(admin, `mutation($c: ID!, $t: String!) { addCreditCard(input: {customerId: $c, paymentToken: $t}) { id } }`,
		map[string]any{"c": fmt.Sprint(tn.customers[1].ID), "t": used}).decode(t, &struct{}{})
	req := h.requestCard(admin, cust, "ap@buyer.example")
	link := linkToken(t, h.outbox(1)[0])
	otherReq := h.requestCard(other.tokens[viewer.Admin], otherCust, "ap@other.example")
	h.settle()
	fresh := h.paymentToken("5555555555554444") // unspent: refusals must leave it so

	const (
		login   = `mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { token } }`
		add     = `mutation($c: ID!, $t: String!, $d: String) { addCreditCard(input: {customerId: $c, paymentToken: $t, description: $d}) { id } }`
		edit    = `mutation($id: ID!, $d: String!) { editCreditCard(id: $id, input: {description: $d}) { id } }`
		del     = `mutation($id: ID!) { deleteCreditCard(id: $id) { deletedId } }`
		primary = `mutation($id: ID!) { setPrimaryCreditCard(id: $id) { id } }`
		request = `mutation($c: ID!, $e: String!) { requestCard(input: {customerId: $c, email: $e}) { id } }`
		cancel  = `mutation($id: ID!) { cancelCardRequest(id: $id) { id } }`
		resend  = `mutation($id: ID!) { resendCardRequest(id: $id) { id } }`
		form    = `query($t: String!) { cardRequestForm(token: $t) { status } }`
		submit  = `mutation($t: String!, $p: String!) { submitCardRequest(token: $t, input: {paymentToken: $p}) { status } }`
		pay     = `mutation($in: ApplyCreditCardPaymentInput!) { applyCreditCardPayment(input: $in) { id } }`
		sel     = `query($c: ID!, $s: PaymentScreen) { selectableCreditCards(customerId: $c, screen: $s) { defaultCardId } }`
		node    = `query($id: ID!) { node(id: $id) { id } }`
		nodes   = `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`
		where   = `query($w: CustomerWhereInput) { customers(where: $w) { totalCount } }`
		page    = `query($a: Cursor, $b: Cursor, $f: Int, $l: Int, $o: CustomerOrder) { customers(after: $a, before: $b, first: $f, last: $l, orderBy: $o) { edges { node { id } } } }`
		nested  = `query($id: ID!, $a: Cursor, $f: Int, $l: Int) { node(id: $id) { ... on Customer {
			payments(after: $a, first: $f, last: $l) { totalCount } auditEvents(after: $a, first: $f, last: $l) { totalCount } } } }`
		expiring = `query($d: Int, $a: Cursor, $f: Int) { expiringCreditCards(withinDays: $d, after: $a, first: $f) { edges { node { id } } } }`
	)
	payIn := func(extra map[string]any) map[string]any {
		in := map[string]any{"customerId": cust, "amount": "12.50", "screen": "RECEIVE_PAYMENTS", "creditCardId": card.ID, "idempotencyKey": "bad-input-key-1"}
		for k, v := range extra {
			if v == nil {
				delete(in, k)
			} else {
				in[k] = v
			}
		}
		return map[string]any{"in": in}
	}
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

	cases := []badCase{
		// Domain rules.
		{name: "unknown card id", query: edit, vars: map[string]any{"id": "8590934592", "d": "x"}, code: "NOT_FOUND"},
		{name: "a customer id where a card id belongs", query: edit, vars: map[string]any{"id": cust, "d": "x"}, code: "NOT_FOUND"},
		{name: "another company's card", query: edit, vars: map[string]any{"id": otherCard.ID, "d": "x"}, code: "NOT_FOUND"},
		{name: "delete another company's card", query: del, vars: map[string]any{"id": otherCard.ID}, code: "NOT_FOUND"},
		{name: "delete an unknown card", query: del, vars: map[string]any{"id": "8590934599"}, code: "NOT_FOUND"},
		{name: "make another company's card primary", query: primary, vars: map[string]any{"id": otherCard.ID}, code: "NOT_FOUND"},
		{name: "make an expired card primary", query: primary, vars: map[string]any{"id": expired}, code: "BAD_USER_INPUT", field: "id"},
		{name: "unknown customer", query: add, vars: map[string]any{"c": "12894901888", "t": fresh}, code: "NOT_FOUND"},
		{name: "add to another company's customer", query: add, vars: map[string]any{"c": otherCust, "t": fresh}, code: "NOT_FOUND"},
		{name: "empty description", query: edit, vars: map[string]any{"id": card.ID, "d": "   "}, code: "BAD_USER_INPUT", field: "description"},
		{name: "101 characters of é as a new card's description", query: add, vars: map[string]any{"c": cust, "t": fresh, "d": strings.Repeat("é", 101)}, code: "BAD_USER_INPUT", field: "description"},
		{name: "oversized description", query: edit, vars: map[string]any{"id": card.ID, "d": strings.Repeat("x", 101)}, code: "BAD_USER_INPUT", field: "description"},
		{name: "card number typed into a description", query: edit, vars: map[string]any{"id": card.ID, "d": "use 4111 1111 1111 1111"}, code: "BAD_USER_INPUT", field: "description"},
		{name: "card number in a new card's description", query: add, vars: map[string]any{"c": cust, "t": fresh, "d": "5555555555554444"}, code: "BAD_USER_INPUT", field: "description"},
		{name: "tab in a description", query: edit, vars: map[string]any{"id": card.ID, "d": "Office\tmain"}, code: "BAD_USER_INPUT", field: "description"},
		{name: "newline in a new card's description", query: add, vars: map[string]any{"c": cust, "t": fresh, "d": "a\nb"}, code: "BAD_USER_INPUT", field: "description"},
		{name: "reused payment token", query: add, vars: map[string]any{"c": cust, "t": used}, code: "BAD_USER_INPUT", field: "paymentToken"},
		{name: "made-up payment token", query: add, vars: map[string]any{"c": cust, "t": "sbpt_madeup"}, code: "BAD_USER_INPUT", field: "paymentToken"},
		{name: "empty payment token", query: add, vars: map[string]any{"c": cust, "t": ""}, code: "BAD_USER_INPUT", field: "paymentToken"},
		{name: "a card number as the payment token", query: add, vars: map[string]any{"c": cust, "t": "4111111111111111"}, code: "BAD_USER_INPUT", field: "paymentToken"},
		{name: "card declined when the gateway stores it", query: add, vars: map[string]any{"c": cust, "t": h.paymentToken("4000000000000101")}, code: "CARD_DECLINED", spends: true},
		{name: "a card for a customer who cannot pay by card", query: add, vars: map[string]any{"c": cad, "t": fresh}, code: "PAYMENT_NOT_ALLOWED"},
		{name: "the same card again", query: add, vars: map[string]any{"c": cust, "t": h.paymentToken("4111111111111111")}, code: "CONFLICT", spends: true},

		// Sign-in.
		{name: "login without email", anon: true, query: login, vars: map[string]any{"e": "", "p": "x"}, code: "BAD_USER_INPUT", field: "email"},
		{name: "login without password", anon: true, query: login, vars: map[string]any{"e": "admin@blossom.test", "p": ""}, code: "BAD_USER_INPUT", field: "password"},
		{name: "login email as a literal number", anon: true, query: `mutation { login(input: {email: 12, password: "x"}) { token } }`, code: "BAD_USER_INPUT", field: "query"},
		{name: "login input missing password", anon: true, query: `mutation { login(input: {email: "a@b.c"}) { token } }`, code: "BAD_USER_INPUT", field: "query"},
		{name: "login input with an unknown field", anon: true, query: `mutation { login(input: {email: "a@b.c", password: "x", otp: "1"}) { token } }`, code: "BAD_USER_INPUT", field: "query"},
		{name: "login input as a string", anon: true, query: `mutation($i: LoginInput!) { login(input: $i) { token } }`, vars: map[string]any{"i": "a@b.c"}, code: "BAD_USER_INPUT", field: "query"},
		{name: "logout with an argument", query: `mutation { logout(all: true) }`, code: "BAD_USER_INPUT", field: "query"},
		{name: "logout selecting a field of a Boolean", query: `mutation { logout { id } }`, code: "BAD_USER_INPUT", field: "query"},

		// Reads without arguments refuse made-up arguments and fields.
		{name: "viewer with an argument", query: `{ viewer(id: "1") { id } }`, code: "BAD_USER_INPUT", field: "query"},
		{name: "cardGateway unknown field", query: `{ cardGateway { secretKey } }`, code: "BAD_USER_INPUT", field: "query"},
		{name: "cardOverview with an argument", query: `{ cardOverview(companyId: "1") { activeCustomers } }`, code: "BAD_USER_INPUT", field: "query"},
		{name: "cardOverview without a selection", query: `{ cardOverview }`, code: "BAD_USER_INPUT", field: "query"},

		// Node lookups.
		{name: "malformed id", query: edit, vars: map[string]any{"id": "not-an-id", "d": "x"}, code: "BAD_USER_INPUT", field: "id"},
		{name: "node unknown id", query: node, vars: map[string]any{"id": "99999999999"}, code: "NOT_FOUND"},
		{name: "node of another company", query: node, vars: map[string]any{"id": otherCust}, code: "NOT_FOUND"},
		{name: "too many node ids", query: nodes, vars: map[string]any{"ids": manyIDs}, code: "BAD_USER_INPUT", field: "ids"},
		{name: "nodes ids not a list", query: `{ nodes(ids: {a: 1}) { id } }`, code: "BAD_USER_INPUT", field: "query"},
		{name: "nodes with a null id", query: nodes, vars: map[string]any{"ids": []any{card.ID, nil}}, code: "BAD_USER_INPUT", field: "query"},

		// Card requests.
		{name: "request to an address that is not one", query: request, vars: map[string]any{"c": cust, "e": "not an email"}, code: "BAD_USER_INPUT", field: "email"},
		{name: "request to two addresses", query: request, vars: map[string]any{"c": cust, "e": "a@b.example, c@d.example"}, code: "BAD_USER_INPUT", field: "email"},
		{name: "request to an empty address", query: request, vars: map[string]any{"c": cust, "e": ""}, code: "BAD_USER_INPUT", field: "email"},
		{name: "request with a header in the address", query: request, vars: map[string]any{"c": cust, "e": "a@b.example\r\nBcc: x@y.example"}, code: "BAD_USER_INPUT", field: "email"},
		{name: "request for another company's customer", query: request, vars: map[string]any{"c": otherCust, "e": "a@b.example"}, code: "NOT_FOUND"},
		{name: "request for a customer who cannot pay by card", query: request, vars: map[string]any{"c": cad, "e": "a@b.example"}, code: "PAYMENT_NOT_ALLOWED"},
		{name: "cancel another company's request", query: cancel, vars: map[string]any{"id": otherReq.ID}, code: "NOT_FOUND"},
		{name: "cancel a card id", query: cancel, vars: map[string]any{"id": card.ID}, code: "NOT_FOUND"},
		{name: "resend another company's request", query: resend, vars: map[string]any{"id": otherReq.ID}, code: "NOT_FOUND"},
		{name: "resend an unknown request", query: resend, vars: map[string]any{"id": "77777777777"}, code: "NOT_FOUND"},
		{name: "form for an unknown link", anon: true, query: form, vars: map[string]any{"t": "madeup-token"}, code: "LINK_UNAVAILABLE"},
		{name: "form for an empty link", anon: true, query: form, vars: map[string]any{"t": ""}, code: "LINK_UNAVAILABLE"},
		{name: "submit to an unknown link", anon: true, query: submit, vars: map[string]any{"t": "madeup-token", "p": fresh}, code: "LINK_UNAVAILABLE"},
		{name: "submit a made-up payment token", anon: true, query: submit, vars: map[string]any{"t": link, "p": "sbpt_madeup"}, code: "BAD_USER_INPUT", field: "paymentToken"},
		{name: "submit a spent payment token", anon: true, query: submit, vars: map[string]any{"t": link, "p": used}, code: "BAD_USER_INPUT", field: "paymentToken"},
		{name: "submit a card number as the payment token", anon: true, query: submit, vars: map[string]any{"t": link, "p": "4111111111111111"}, code: "BAD_USER_INPUT", field: "paymentToken"},
		{name: "submit without input", anon: true, query: `mutation { submitCardRequest(token: "x") { status } }`, code: "BAD_USER_INPUT", field: "query"},

		// Payments.
		{name: "pay a non-number amount", query: pay, vars: payIn(map[string]any{"amount": "twelve"}), code: "BAD_USER_INPUT", field: "amount"},
		{name: "pay three decimals", query: pay, vars: payIn(map[string]any{"amount": "1.234"}), code: "BAD_USER_INPUT", field: "amount"},
		{name: "pay zero", query: pay, vars: payIn(map[string]any{"amount": "0"}), code: "BAD_USER_INPUT", field: "amount"},
		{name: "pay a negative amount", query: pay, vars: payIn(map[string]any{"amount": "-5.00"}), code: "BAD_USER_INPUT", field: "amount"},
		{name: "pay a huge amount", query: pay, vars: payIn(map[string]any{"amount": "99999999999999999999"}), code: "BAD_USER_INPUT", field: "amount"},
		{name: "pay an exponent amount", query: pay, vars: payIn(map[string]any{"amount": "1e3"}), code: "BAD_USER_INPUT", field: "amount"},
		{name: "pay a short idempotency key", query: pay, vars: payIn(map[string]any{"idempotencyKey": "short"}), code: "BAD_USER_INPUT", field: "idempotencyKey"},
		{name: "pay an idempotency key with spaces", query: pay, vars: payIn(map[string]any{"idempotencyKey": "has spaces in it"}), code: "BAD_USER_INPUT", field: "idempotencyKey"},
		{name: "pay an oversized idempotency key", query: pay, vars: payIn(map[string]any{"idempotencyKey": strings.Repeat("k", 101)}), code: "BAD_USER_INPUT", field: "idempotencyKey"},
		{name: "pay an oversized reference", query: pay, vars: payIn(map[string]any{"reference": strings.Repeat("r", 65)}), code: "BAD_USER_INPUT", field: "reference"},
		{name: "pay a card number as the reference", query: pay, vars: payIn(map[string]any{"reference": "4111111111111111"}), code: "BAD_USER_INPUT", field: "reference"},
		{name: "pay with neither card nor token", query: pay, vars: payIn(map[string]any{"creditCardId": nil}), code: "BAD_USER_INPUT", field: "creditCardId"},
		{name: "pay with both card and token", query: pay, vars: payIn(map[string]any{"paymentToken": fresh}), code: "BAD_USER_INPUT", field: "creditCardId"},
		{name: "save a saved card", query: pay, vars: payIn(map[string]any{"saveCard": true}), code: "BAD_USER_INPUT", field: "saveCard"},
		{name: "pay with another company's card", query: pay, vars: payIn(map[string]any{"creditCardId": otherCard.ID}), code: "NOT_FOUND"},
		{name: "pay for another company's customer", query: pay, vars: payIn(map[string]any{"customerId": otherCust}), code: "NOT_FOUND"},
		{name: "pay with a made-up token", query: pay, vars: payIn(map[string]any{"creditCardId": nil, "paymentToken": "sbpt_madeup", "idempotencyKey": "bad-input-made-up-token"}), code: "BAD_USER_INPUT", field: "paymentToken",
			attempted: true, audited: []string{"FAILED payment.apply"}},
		{name: "pay with an unknown screen", query: pay, vars: payIn(map[string]any{"screen": "BACK_OFFICE"}), code: "BAD_USER_INPUT", field: "query"},
		{name: "pay without an input", query: `mutation { applyCreditCardPayment { id } }`, code: "BAD_USER_INPUT", field: "query"},
		{name: "selectable cards of another company's customer", query: sel, vars: map[string]any{"c": otherCust}, code: "NOT_FOUND"},
		{name: "selectable cards of a card id", query: sel, vars: map[string]any{"c": card.ID}, code: "NOT_FOUND"},
		{name: "selectable cards on an unknown screen", query: sel, vars: map[string]any{"c": cust, "s": "NOWHERE"}, code: "BAD_USER_INPUT", field: "query"},
		{name: "selectable cards screen as a number", query: sel, vars: map[string]any{"c": cust, "s": 3}, code: "BAD_USER_INPUT", field: "query"},

		// Filters and ordering.
		{name: "customers order by an unknown field", query: page, vars: map[string]any{"o": map[string]any{"field": "PASSWORD"}}, code: "BAD_USER_INPUT", field: "query"},
		{name: "customers order by an unknown direction", query: page, vars: map[string]any{"o": map[string]any{"field": "NAME", "direction": "SIDEWAYS"}}, code: "BAD_USER_INPUT", field: "query"},
		{name: "customers filter on an unknown field", query: where, vars: map[string]any{"w": map[string]any{"passwordHash": "x"}}, code: "BAD_USER_INPUT", field: "query"},
		{name: "customers filter hasCreditCards as a string", query: where, vars: map[string]any{"w": map[string]any{"hasCreditCards": "yes"}}, code: "BAD_USER_INPUT", field: "query"},
		{name: "customers filter with a malformed id", query: where, vars: map[string]any{"w": map[string]any{"idIn": []any{"x1"}}}, code: "BAD_USER_INPUT", field: "idIn"},

		// Pages and cursors.
		{name: "first: 100000", query: `{ customers(first: 100000) { totalCount } }`, code: "BAD_USER_INPUT", field: "first"},
		{name: "an empty not filter", query: `{ customers(first: 5, where: {not: {}}) { totalCount } }`, code: "BAD_USER_INPUT", field: "where"},
		{name: "an empty or filter", query: `{ customers(first: 5, where: {or: [{}]}) { totalCount } }`, code: "BAD_USER_INPUT", field: "where"},
		{name: "an empty card filter", query: `{ customers(first: 5, where: {hasCreditCardsWith: [{not: {}}]}) { totalCount } }`, code: "BAD_USER_INPUT", field: "where"},
		{name: "negative last", query: `{ customers(last: -1) { totalCount } }`, code: "BAD_USER_INPUT", field: "last"},
		{name: "first beyond Int", query: `{ customers(first: 99999999999) { totalCount } }`, code: "BAD_USER_INPUT", field: "first"},
		{name: "first as a string", query: page, vars: map[string]any{"f": "5"}, code: "BAD_USER_INPUT", field: "first"},
		{name: "last as a decimal", query: page, vars: map[string]any{"l": 2.5}, code: "BAD_USER_INPUT", field: "query"},
		{name: "cards filter with a malformed id", query: where, vars: map[string]any{"w": map[string]any{"hasCreditCardsWith": []any{map[string]any{"idIn": []any{"card-1"}}}}}, code: "BAD_USER_INPUT", field: "idIn"},
		{name: "first and last together", query: page, vars: map[string]any{"f": 5, "l": 5}, code: "BAD_USER_INPUT", field: "last"},
		{name: "first and last together on payments", query: nested, vars: map[string]any{"id": cust, "f": 1, "l": 1}, code: "BAD_USER_INPUT", field: "last"},
		{name: "nested first over the cap", query: nested, vars: map[string]any{"id": cust, "f": 101}, code: "BAD_USER_INPUT", field: "first"},
		{name: "nested garbage cursor", query: nested, vars: map[string]any{"id": cust, "a": "garbage!!"}, code: "BAD_USER_INPUT", field: "after"},
		{name: "nested cursor of the wrong kind", query: nested, vars: map[string]any{"id": cust, "a": cursor(map[string]any{"i": 1, "v": "x"})}, code: "BAD_USER_INPUT", field: "after"},
		{name: "customers(first:5, after:\"garbage!!\")", query: `{ customers(first: 5, after: "garbage!!") { totalCount } }`, code: "BAD_USER_INPUT", field: "after"},
		{name: "before cursor garbage", query: `{ customers(last: 5, before: "garbage!!") { totalCount } }`, code: "BAD_USER_INPUT", field: "before"},
		{name: "expiring: withinDays -1", query: expiring, vars: map[string]any{"d": -1}, code: "BAD_USER_INPUT", field: "withinDays"},
		{name: "expiring: withinDays 367", query: expiring, vars: map[string]any{"d": 367}, code: "BAD_USER_INPUT", field: "withinDays"},
		{name: "expiring: first over the cap", query: expiring, vars: map[string]any{"f": 1000}, code: "BAD_USER_INPUT", field: "first"},
		{name: "expiring: negative first", query: expiring, vars: map[string]any{"f": -3}, code: "BAD_USER_INPUT", field: "first"},
		{name: "expiring: withinDays as a string", query: expiring, vars: map[string]any{"d": "sixty"}, code: "BAD_USER_INPUT", field: "query"},
		{name: "expiring: withinDays as a numeric string", query: expiring, vars: map[string]any{"d": "60"}, code: "BAD_USER_INPUT", field: "withinDays"},
		{name: "expiring: garbage cursor", query: expiring, vars: map[string]any{"a": "garbage!!"}, code: "BAD_USER_INPUT", field: "after"},
		{name: "expiring: name cursor", query: expiring, vars: map[string]any{"a": cursor(map[string]any{"i": 1, "v": "Blossom"})}, code: "BAD_USER_INPUT", field: "after"},
		{name: "expiring: id cursor with a list value", query: expiring, vars: map[string]any{"a": cursor(map[string]any{"i": 1, "v": []any{1}})}, code: "BAD_USER_INPUT", field: "after"},

		// The request itself.
		{name: "deeply nested query", query: deep, code: "BAD_USER_INPUT", field: "query"},
		{name: "alias flood", query: flood.String(), code: "BAD_USER_INPUT", field: "query"},
		{name: "unknown field", query: `{ customers { edges { node { cardNumber } } } }`, code: "BAD_USER_INPUT", field: "query"},
		{name: "syntax error", query: `{ customers { `, code: "BAD_USER_INPUT", field: "query"},
		{name: "unknown operation type", query: `subscribe { viewer { id } }`, code: "BAD_USER_INPUT", field: "query"},
		{name: "undeclared variable", query: `{ node(id: $x) { id } }`, code: "BAD_USER_INPUT", field: "query"},
		{name: "missing required variable", query: node, code: "BAD_USER_INPUT", field: "query"},
		{name: "two anonymous operations", query: `{ viewer { id } } { viewer { id } }`, code: "BAD_USER_INPUT", field: "query"},
	}

	// Malformed cursors, every spelling, on both cursor arguments.
	cursors := []struct{ name, cursor string }{
		{"garbage", "garbage!!"},
		{"bad base64", "Zm9v*"},
		{"padded base64", base64.StdEncoding.EncodeToString([]byte("x"))},
		{"base64 of JSON", base64.RawStdEncoding.EncodeToString([]byte(`{"i":1}`))},
		{"base64 of text", base64.RawStdEncoding.EncodeToString([]byte("hello, world"))},
		{"msgpack string", cursor("hello")},
		{"msgpack number", cursor(42)},
		{"msgpack id of text", cursor(map[string]any{"i": "x"})},
		{"empty", ""},
		{"NUL", "\x00"},
	}
	for _, c := range cursors {
		for _, arg := range []struct{ name, vars string }{{"after", "a"}, {"before", "b"}} {
			cases = append(cases, badCase{name: "cursor " + arg.name + ": " + c.name, query: page,
				vars: map[string]any{arg.vars: c.cursor}, code: "BAD_USER_INPUT", field: arg.name})
		}
	}
	// Cursors that decode but do not fit the ordering: PostgreSQL refuses to
	// compare their value with the column.
	shapes := []struct {
		name  string
		order map[string]any
		value any
	}{
		{"text value, id order", nil, "x"},
		{"time value, id order", nil, time.Now()},
		{"map value, name order", map[string]any{"field": "NAME"}, map[string]any{"a": 1}},
		{"list value, name order", map[string]any{"field": "NAME"}, []any{1, 2}},
		{"number value, name order", map[string]any{"field": "NAME"}, 7},
		{"time value, code order", map[string]any{"field": "CODE"}, time.Now()},
		{"text value, created-at order", map[string]any{"field": "CREATED_AT"}, "yesterday"},
		{"number value, created-at order", map[string]any{"field": "CREATED_AT"}, 1700000000},
		{"bool value, created-at order", map[string]any{"field": "CREATED_AT", "direction": "DESC"}, true},
	}
	for _, s := range shapes {
		cases = append(cases, badCase{name: "cursor of the wrong shape: " + s.name, query: page,
			vars: map[string]any{"a": cursor(map[string]any{"i": 1, "v": s.value}), "o": s.order}, code: "BAD_USER_INPUT", field: "after"})
	}

	// Every String argument and input field is strict: no number, boolean
	// or object coerced to text, no NUL or other control characters.
	type textField struct {
		name, field, query, key string
		vars                    func(v any) map[string]any
		anon                    bool
	}
	set := func(base map[string]any, key string) func(any) map[string]any {
		return func(v any) map[string]any {
			m := maps.Clone(base)
			m[key] = v
			return m
		}
	}
	whereWith := func(wrap func(any) map[string]any) func(any) map[string]any {
		return func(v any) map[string]any { return map[string]any{"w": wrap(v)} }
	}
	inPay := func(key string) func(any) map[string]any {
		return func(v any) map[string]any { return payIn(map[string]any{key: v}) }
	}
	texts := []textField{
		{name: "login email", field: "email", query: login, vars: set(map[string]any{"p": "x"}, "e"), anon: true},
		{name: "login password", field: "password", query: login, vars: set(map[string]any{"e": "admin@blossom.test"}, "p"), anon: true},
		{name: "card description", field: "description", query: edit, vars: set(map[string]any{"id": card.ID}, "d")},
		{name: "new card's payment token", field: "paymentToken", query: add, vars: set(map[string]any{"c": cust}, "t")},
		{name: "new card's description", field: "description", query: add, vars: set(map[string]any{"c": cust, "t": fresh}, "d")},
		{name: "request email", field: "email", query: request, vars: set(map[string]any{"c": cust}, "e")},
		{name: "form token", field: "token", query: form, vars: set(map[string]any{}, "t"), anon: true},
		{name: "submit token", field: "token", query: submit, vars: set(map[string]any{"p": fresh}, "t"), anon: true},
		{name: "submit payment token", field: "paymentToken", query: submit, vars: set(map[string]any{"t": link}, "p"), anon: true},
		{name: "payment amount", field: "amount", query: pay, vars: inPay("amount")},
		{name: "payment reference", field: "reference", query: pay, vars: inPay("reference")},
		{name: "payment idempotency key", field: "idempotencyKey", query: pay, vars: inPay("idempotencyKey")},
		{name: "payment description", field: "description", query: pay, vars: inPay("description")},
		{name: "filter nameContains", field: "nameContains", query: where, vars: whereWith(func(v any) map[string]any { return map[string]any{"nameContains": v} })},
		{name: "filter codeHasPrefix", field: "codeHasPrefix", query: where, vars: whereWith(func(v any) map[string]any { return map[string]any{"codeHasPrefix": v} })},
		{name: "filter emailEqualFold", field: "emailEqualFold", query: where, vars: whereWith(func(v any) map[string]any { return map[string]any{"emailEqualFold": v} })},
		{name: "filter nameIn element", field: "nameIn", query: where, vars: whereWith(func(v any) map[string]any { return map[string]any{"nameIn": []any{"a", v}} })},
		{name: "filter inside or", field: "nameContainsFold", query: where, vars: whereWith(func(v any) map[string]any {
			return map[string]any{"or": []any{map[string]any{"code": "C0001"}, map[string]any{"nameContainsFold": v}}}
		})},
		{name: "filter inside not", field: "defaultCurrency", query: where, vars: whereWith(func(v any) map[string]any {
			return map[string]any{"not": map[string]any{"defaultCurrency": v}}
		})},
		{name: "filter inside and", field: "nameHasSuffix", query: where, vars: whereWith(func(v any) map[string]any {
			return map[string]any{"and": []any{map[string]any{"hasCreditCards": true}, map[string]any{"nameHasSuffix": v}}}
		})},
	}
	values := []struct {
		name  string
		value any
		code  string
		field bool // the answer names the field (else the query, from gqlparser's validator)
	}{
		{"a number", 12, "BAD_USER_INPUT", true},
		{"a decimal", 1.5, "BAD_USER_INPUT", true},
		{"a boolean", true, "BAD_USER_INPUT", false},
		{"a NUL byte", "a\x00b@example.com", "BAD_USER_INPUT", true},
		{"a bell", "ding\x07@example.com", "BAD_USER_INPUT", true},
		{"an escape sequence", "\x1b[31mred", "BAD_USER_INPUT", true},
		{"a DEL", "del\x7f", "BAD_USER_INPUT", true},
		{"a C1 control", "next\u0085line", "BAD_USER_INPUT", true},
	}
	for _, f := range texts {
		for _, v := range values {
			field := "query"
			if v.field {
				field = f.field
			}
			cases = append(cases, badCase{name: f.name + " with " + v.name, anon: f.anon, query: f.query,
				vars: f.vars(v.value), code: v.code, field: field})
		}
	}
	// NUL in a String literal in the query text itself.
	cases = append(cases,
		badCase{name: "NUL escape in a literal filter", query: `{ customers(where: {nameContains: "a\u0000b"}) { totalCount } }`, code: "BAD_USER_INPUT", field: "nameContains"},
		badCase{name: "NUL escape in a literal login email", anon: true, query: `mutation { login(input: {email: "a\u0000@b.c", password: "x"}) { token } }`, code: "BAD_USER_INPUT", field: "email"},
	)

	// Every ID argument refuses what is not an id.
	ids := []struct {
		name, field, query string
		vars               func(v any) map[string]any
	}{
		{"node id", "id", node, func(v any) map[string]any { return map[string]any{"id": v} }},
		{"nodes ids", "ids", nodes, func(v any) map[string]any { return map[string]any{"ids": []any{card.ID, v}} }},
		{"edit id", "id", edit, func(v any) map[string]any { return map[string]any{"id": v, "d": "x"} }},
		{"delete id", "id", del, func(v any) map[string]any { return map[string]any{"id": v} }},
		{"set primary id", "id", primary, func(v any) map[string]any { return map[string]any{"id": v} }},
		{"new card's customer", "customerId", add, func(v any) map[string]any { return map[string]any{"c": v, "t": fresh} }},
		{"request customer", "customerId", request, func(v any) map[string]any { return map[string]any{"c": v, "e": "a@b.example"} }},
		{"cancel id", "id", cancel, func(v any) map[string]any { return map[string]any{"id": v} }},
		{"resend id", "id", resend, func(v any) map[string]any { return map[string]any{"id": v} }},
		{"selectable customer", "customerId", sel, func(v any) map[string]any { return map[string]any{"c": v} }},
		{"payment customer", "customerId", pay, func(v any) map[string]any { return payIn(map[string]any{"customerId": v}) }},
		{"payment card", "creditCardId", pay, func(v any) map[string]any { return payIn(map[string]any{"creditCardId": v}) }},
	}
	for _, id := range ids {
		for _, v := range []struct {
			name  string
			value any
		}{{"text", "abc"}, {"a negative number", "-4"}, {"a NUL byte", "1\x00"}} {
			cases = append(cases, badCase{name: id.name + " as " + v.name, query: id.query, vars: id.vars(v.value), code: "BAD_USER_INPUT", field: id.field})
		}
	}

	if len(cases) < 150 {
		t.Fatalf("only %d cases", len(cases))
	}
	t.Logf("%d bad-input cases", len(cases))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { h.expectBad(t, admin, c) })
	}
	h.t = t

	// The link still works after every refused submission: none spent it.
	var f struct{ CardRequestForm struct{ Status string } }
	h.gql("", form, map[string]any{"t": link}).decode(t, &f)
	if f.CardRequestForm.Status != "OPENED" {
		t.Fatalf("the link's request is now %q", f.CardRequestForm.Status)
	}
	_ = req

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
		h.expectBad(t, fresh, badCase{query: add, vars: map[string]any{"c": cust, "t": tok}, code: "BAD_USER_INPUT", field: "paymentToken"})
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
		{"a card number in a body that is not JSON", "application/json", []byte(`{"query": "{ viewer { id } }", "note": "4111 1111 1111 1111`), http.StatusBadRequest},
	}
	for _, c := range transport {
		t.Run(c.name, func(t *testing.T) {
			h.t = t
			before := h.snapshot()
			r := h.post(admin, c.contentType, c.body)
			if r.Status != c.status || r.code() != "BAD_USER_INPUT" {
				t.Fatalf("got HTTP %d %s; want %d with BAD_USER_INPUT", r.Status, r.Raw, c.status)
			}
			if len(c.body) < 1000 && (strings.Contains(r.Raw, string(c.body)) || strings.Contains(r.Raw, "1111 1111")) {
				t.Fatalf("the answer echoes the body: %s", r.Raw)
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

// Bad input whose fixes land on other branches (issue 8 items 2, 4 and 8:
// the card-number guard, validating before spending the payment token,
// resending a replaced request). Expected to pass after merge; until then
// these cases fail here on purpose, kept apart so the suite above stays green.
func TestBadInputAfterParallelFixes(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Blossom", 1)
	admin := tn.tokens[viewer.Admin]
	cust := fmt.Sprint(tn.customers[0].ID)
	card := h.addCard(admin, cust, "4111111111111111", "Office", "")
	old := h.requestCard(admin, cust, "ap@buyer.example")
	h.gql(admin, `mutation($id: ID!) { resendCardRequest(id: $id) { id } }`, map[string]any{"id": old.ID}).decode(t, &struct{}{})
	h.settle()

	const (
		add  = `mutation($c: ID!, $t: String!, $d: String) { addCreditCard(input: {customerId: $c, paymentToken: $t, description: $d}) { id } }`
		edit = `mutation($id: ID!, $d: String!) { editCreditCard(id: $id, input: {description: $d}) { id } }`
		pay  = `mutation($in: ApplyCreditCardPaymentInput!) { applyCreditCardPayment(input: $in) { id } }`
	)
	payRef := func(ref string) map[string]any {
		return map[string]any{"in": map[string]any{"customerId": cust, "amount": "12.50", "screen": "RECEIVE_PAYMENTS",
			"creditCardId": card.ID, "idempotencyKey": "after-merge-key", "reference": ref}}
	}
	afterMerge := []badCase{
		{name: "dotted card number in a description", query: edit, vars: map[string]any{"id": card.ID, "d": "4111.1111.1111.1111"}, code: "BAD_USER_INPUT", field: "description"},
		{name: "spaced-dash card number in a description", query: edit, vars: map[string]any{"id": card.ID, "d": "4111 - 1111 - 1111 - 1111"}, code: "BAD_USER_INPUT", field: "description"},
		{name: "full-width card number in a description", query: edit, vars: map[string]any{"id": card.ID, "d": "４１１１１１１１１１１１１１１１"}, code: "BAD_USER_INPUT", field: "description"},
		{name: "zero-width spaced card number in a description", query: edit, vars: map[string]any{"id": card.ID, "d": "4111\u200b1111\u200b1111\u200b1111"}, code: "BAD_USER_INPUT", field: "description"},
		{name: "no-break spaced card number in a new card's description", query: add, vars: map[string]any{"c": cust, "t": h.paymentToken("5555555555554444"), "d": "5555\u00a05555\u00a05555\u00a04444"}, code: "BAD_USER_INPUT", field: "description"},
		{name: "slashed card number as a payment reference", query: pay, vars: payRef("4111/1111/1111/1111"), code: "BAD_USER_INPUT", field: "reference"},
		{name: "resending a replaced request", query: `mutation($id: ID!) { resendCardRequest(id: $id) { id } }`, vars: map[string]any{"id": old.ID}, code: "CONFLICT"},
	}
	for _, c := range afterMerge {
		t.Run(c.name, func(t *testing.T) { h.expectBad(t, admin, c) })
	}

	// Today 60 "é" pass the text check (60 characters) and fail ent's
	// byte-counted limit after the payment token is spent.
	t.Run("60 é description is a valid description", func(t *testing.T) {
		h.t = t
		r := h.gql(admin, add, map[string]any{"c": cust, "t": h.paymentToken("6011111111111117"), "d": strings.Repeat("é", 60)})
		if len(r.Errors) > 0 {
			t.Fatalf("refused: %s", r.Raw)
		}
	})
}
