package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"cardfile/internal/gateway/sandbox"
	"cardfile/internal/textguard"
	"cardfile/internal/viewer"
)

// Every value a person types is refused when it holds a card number written
// in any of the ways that used to get through (issue 8), and nothing is
// stored; an ordinary value the old guard refused is accepted.
func TestDisguisedCardNumbersAreRefusedInEveryTypedInput(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Blossom", 1)
	admin := tn.tokens[viewer.Admin]
	cust := fmt.Sprint(tn.customers[0].ID)
	card := h.addCard(admin, cust, "4111111111111111", "Office", "")

	const (
		add     = `mutation($c: ID!, $t: String!, $d: String) { addCreditCard(input: {customerId: $c, paymentToken: $t, description: $d}) { id } }`
		edit    = `mutation($id: ID!, $d: String!) { editCreditCard(id: $id, input: {description: $d}) { id } }`
		request = `mutation($c: ID!, $e: String!) { requestCard(input: {customerId: $c, email: $e}) { id } }`
	)
	disguises := []string{
		"4111.1111.1111.1111", "4111/1111/1111/1111", "4111  1111  1111  1111", "4111 - 1111 - 1111 - 1111",
		"4111\u00a01111\u00a01111\u00a01111", "４１１１１１１１１１１１１１１１", "4111\u200b1111\u200b1111\u200b1111",
		"4111-1111-1111-1111", "5555_5555_5555_4444",
	}
	pay := func(in map[string]any) map[string]any {
		base := map[string]any{"customerId": cust, "amount": "10.00", "screen": "RECEIVE_PAYMENTS", "creditCardId": card.ID, "idempotencyKey": "payment-key-0001"}
		for k, v := range in {
			base[k] = v
		}
		return map[string]any{"in": base}
	}
	inputs := []struct {
		name, query, field string
		vars               func(v string) map[string]any
	}{
		{"rename", edit, "description", func(v string) map[string]any { return map[string]any{"id": card.ID, "d": v} }},
		{"new card's description", add, "description", func(v string) map[string]any {
			return map[string]any{"c": cust, "t": h.paymentToken("5555555555554444"), "d": v}
		}},
		{"payment reference", applyQ, "reference", func(v string) map[string]any { return pay(map[string]any{"reference": v}) }},
		{"saved card's description at payment", applyQ, "description", func(v string) map[string]any {
			return pay(map[string]any{"creditCardId": nil, "paymentToken": h.paymentToken("5555555555554444"), "saveCard": true, "description": v})
		}},
		{"idempotency key", applyQ, "idempotencyKey", func(v string) map[string]any { return pay(map[string]any{"idempotencyKey": v}) }},
		{"card-request email", request, "email", func(v string) map[string]any { return map[string]any{"c": cust, "e": "x" + v + "@buyer.example"} }},
	}
	counts := func() string {
		return fmt.Sprint(h.app.DB.Payment.Query().CountX(h.sys), h.app.DB.CardRequest.Query().CountX(h.sys))
	}
	for _, in := range inputs {
		for _, v := range disguises {
			t.Run(in.name+" "+v, func(t *testing.T) {
				h.t = t
				vars := in.vars(v)
				before, n := h.snapshot(), counts()
				r := h.gql(admin, in.query, vars)
				if r.code() != "BAD_USER_INPUT" || r.field() != in.field {
					t.Fatalf("got %s; want BAD_USER_INPUT on %s", r.Raw, in.field)
				}
				if strings.Contains(r.Raw, "4111") || strings.Contains(r.Raw, "5555") {
					t.Fatalf("the answer echoes the number: %s", r.Raw)
				}
				if h.snapshot() != before || counts() != n {
					t.Fatal("a refused value changed the database")
				}
			})
		}
	}

	t.Run("an address the old guard refused", func(t *testing.T) {
		h.t = t
		h.gql(admin, request, map[string]any{"c": cust, "e": "smtpout-1796138826575-1@example.com"}).decode(t, &struct{}{})
	})

	t.Run("a card number typed into the hosted fields' name is not kept", func(t *testing.T) {
		h.t = t
		res, err := h.app.Sandbox.Tokenize(context.Background(), sandbox.CardInput{
			Number: "4242424242424242", ExpMonth: 12, ExpYear: h.clock.Now().Year() + 3, CVC: "123", PostalCode: "12345", Name: "Pat 4111.1111.1111.1111",
		})
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ AddCreditCard struct{ ID string } }
		h.gql(admin, `mutation($c: ID!, $t: String!) { addCreditCard(input: {customerId: $c, paymentToken: $t}) { id } }`,
			map[string]any{"c": cust, "t": res.Token}).decode(t, &out)
		var got string
		for _, c := range h.app.DB.CreditCard.Query().AllX(h.sys) {
			if fmt.Sprint(c.ID) == out.AddCreditCard.ID {
				got = c.CardholderName
			}
		}
		if got != "Pat "+textguard.Masked {
			t.Fatalf("cardholder name stored as %q", got)
		}
	})
}
