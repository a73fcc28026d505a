package app_test

import (
	"fmt"
	"strings"
	"testing"

	"cardfile/internal/viewer"
)

// Staff of company B can neither read nor change company A's customers or
// cards by any route: node, nodes, the customers connection and its where
// filters, nested edges, or any mutation.
func TestOtherCompaniesDataIsUnreachable(t *testing.T) {
	h := newHarness(t)
	a := h.newTenant("Alpha", 2)
	b := h.newTenant("Bravo", 1)
	aCust := fmt.Sprint(a.customers[0].ID)
	aCard := h.addCard(a.tokens[viewer.Admin], aCust, "4111111111111111", "Alpha's card", "")
	h.addCard(b.tokens[viewer.Admin], fmt.Sprint(b.customers[0].ID), "5555555555554444", "Bravo's card", "")
	aStaff := fmt.Sprint(a.staff[viewer.Admin].ID)
	aCompany := fmt.Sprint(a.company.ID)

	bToken := b.tokens[viewer.Admin]
	reads := []struct{ name, query string }{
		{"node customer", `{ node(id: "` + aCust + `") { id ... on Customer { name } } }`},
		{"node card", `{ node(id: "` + aCard.ID + `") { id ... on CreditCard { last4 } } }`},
		{"node staff", `{ node(id: "` + aStaff + `") { id ... on Staff { email } } }`},
		{"node company", `{ node(id: "` + aCompany + `") { id ... on Company { name } } }`},
		{"nodes", `{ nodes(ids: ["` + aCust + `", "` + aCard.ID + `"]) { id } }`},
		{"customers by id", `{ customers(where: {idIn: ["` + aCust + `"]}) { totalCount edges { node { id name } } } }`},
		{"customers by name", `{ customers(where: {nameContainsFold: "alpha"}) { totalCount edges { node { id name } } } }`},
		{"customers having cards", `{ customers(where: {hasCreditCards: true}) { edges { node { name creditCards { description } } } } }`},
		{"customers having a card by id", `{ customers(where: {hasCreditCardsWith: {idIn: ["` + aCard.ID + `"]}}) { totalCount edges { node { name } } } }`},
	}
	for _, c := range reads {
		t.Run("read/"+c.name, func(t *testing.T) {
			h.t = t
			r := h.gql(bToken, c.query, nil)
			if strings.Contains(r.Raw, "Alpha") || strings.Contains(r.Raw, "alpha") {
				t.Fatalf("company B saw company A's data: %s", r.Raw)
			}
			if strings.HasPrefix(c.name, "node") && r.code() != "NOT_FOUND" {
				t.Fatalf("got %s, want NOT_FOUND", r.Raw)
			}
			if strings.HasPrefix(c.name, "customers") && (len(r.Errors) > 0 || !strings.Contains(r.Raw, `"data":{"customers":`)) {
				t.Fatalf("a filter query failed instead of answering with company B's own customers: %s", r.Raw)
			}
		})
	}

	writes := []struct{ name, query string }{
		{"add to A's customer", `mutation { addCreditCard(input: {customerId: "` + aCust + `", paymentToken: "` + h.paymentToken("4242424242424242") + `"}) { id } }`},
		{"rename A's card", `mutation { editCreditCard(id: "` + aCard.ID + `", input: {description: "stolen"}) { id } }`},
		{"make A's card primary", `mutation { setPrimaryCreditCard(id: "` + aCard.ID + `") { id } }`},
		{"delete A's card", `mutation { deleteCreditCard(id: "` + aCard.ID + `") { deletedId } }`},
	}
	h.t = t
	before := h.snapshot() // after tokenizing above, which writes at the gateway
	for _, c := range writes {
		t.Run("write/"+c.name, func(t *testing.T) {
			h.t = t
			r := h.gql(bToken, c.query, nil)
			if r.code() != "NOT_FOUND" {
				t.Fatalf("got %s, want NOT_FOUND (the same answer as for an id that does not exist)", r.Raw)
			}
			if after := h.snapshot(); after != before {
				t.Fatalf("company B changed company A's data:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
	h.t = t

	// Company A still sees its own.
	if cs := h.cardsOf(a.tokens[viewer.Admin], aCust); len(cs) != 1 || cs[0].Description != "Alpha's card" {
		t.Fatalf("company A's cards are now %+v", cs)
	}
}
