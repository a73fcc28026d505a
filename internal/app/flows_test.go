package app_test

import (
	"fmt"
	"testing"

	"cardfile/ent/auditevent"
	"cardfile/ent/creditcard"
	"cardfile/internal/viewer"
)

const cardFields = `id brand last4 expMonth expYear description isPrimary source expired expiresSoon display`

type card struct {
	ID          string
	Brand       string
	Last4       string
	Description string
	IsPrimary   bool
	Source      string
	Expired     bool
	Display     string
}

// addCard adds a card through GraphQL and returns it.
func (h *harness) addCard(token, customerID, number, description string, extra string) card {
	h.t.Helper()
	r := h.gql(token, fmt.Sprintf(`mutation($c: ID!, $t: String!, $d: String) {
		addCreditCard(input: {customerId: $c, paymentToken: $t, description: $d %s}) { %s } }`, extra, cardFields),
		map[string]any{"c": customerID, "t": h.paymentToken(number), "d": description})
	var out struct{ AddCreditCard card }
	r.decode(h.t, &out)
	return out.AddCreditCard
}

func (h *harness) cardsOf(token, customerID string) []card {
	h.t.Helper()
	r := h.gql(token, `query($id: ID!) { node(id: $id) { ... on Customer { creditCards { `+cardFields+` } } } }`, map[string]any{"id": customerID})
	var out struct{ Node struct{ CreditCards []card } }
	r.decode(h.t, &out)
	return out.Node.CreditCards
}

// The seed's flows, through GraphQL, as each role the seed allows: find a
// customer by filter, add a card, rename it, mark another primary, delete
// the primary and see the other promoted.
func TestSeedFlowsAsEachCardManagerRole(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Blossom", 8)
	for i, role := range viewer.DefaultCardManagers {
		t.Run(string(role), func(t *testing.T) {
			h.t = t
			token := tn.tokens[role]
			target := tn.customers[i]

			// Find the customer with the filters.
			r := h.gql(token, `query($q: String!) { customers(first: 10, where: {nameContainsFold: $q, active: true}) {
				totalCount edges { node { id code name canPayByCard { allowed } } } } }`,
				map[string]any{"q": fmt.Sprintf("customer %03d", i+1)})
			var found struct {
				Customers struct {
					TotalCount int
					Edges      []struct {
						Node struct {
							ID, Code, Name string
							CanPayByCard   struct{ Allowed bool }
						}
					}
				}
			}
			r.decode(t, &found)
			if found.Customers.TotalCount != 1 || found.Customers.Edges[0].Node.Code != target.Code {
				t.Fatalf("filter found %+v, want only %s", found.Customers, target.Code)
			}
			if !found.Customers.Edges[0].Node.CanPayByCard.Allowed {
				t.Fatal("a USD customer of a US/USD company cannot pay by card")
			}
			custID := found.Customers.Edges[0].Node.ID

			// Add: the first card becomes primary; the number never comes back.
			first := h.addCard(token, custID, "4111111111111111", "Office Visa", "")
			if !first.IsPrimary || first.Brand != "VISA" || first.Last4 != "1111" || first.Source != "STAFF" || first.Display != "VISA •••• 1111" {
				t.Fatalf("first card = %+v", first)
			}
			second := h.addCard(token, custID, "5555555555554444", "", "")
			if second.IsPrimary {
				t.Fatal("a second card became primary without being asked")
			}

			// Rename.
			r = h.gql(token, `mutation($id: ID!) { editCreditCard(id: $id, input: {description: "AP Mastercard"}) { description } }`, map[string]any{"id": second.ID})
			var renamed struct{ EditCreditCard card }
			r.decode(t, &renamed)
			if renamed.EditCreditCard.Description != "AP Mastercard" {
				t.Fatalf("renamed to %q", renamed.EditCreditCard.Description)
			}

			// Mark the other primary: exactly one primary, listed first.
			r = h.gql(token, `mutation($id: ID!) { setPrimaryCreditCard(id: $id) { isPrimary } }`, map[string]any{"id": second.ID})
			r.decode(t, &struct{}{})
			list := h.cardsOf(token, custID)
			if len(list) != 2 || list[0].ID != second.ID || !list[0].IsPrimary || list[1].IsPrimary {
				t.Fatalf("after setPrimary the cards are %+v", list)
			}

			// Delete the primary: the other card is promoted.
			r = h.gql(token, `mutation($id: ID!) { deleteCreditCard(id: $id) { deletedId newPrimary { id isPrimary } } }`, map[string]any{"id": second.ID})
			var del struct {
				DeleteCreditCard struct {
					DeletedID  string
					NewPrimary *card
				}
			}
			r.decode(t, &del)
			if del.DeleteCreditCard.DeletedID != second.ID || del.DeleteCreditCard.NewPrimary == nil || del.DeleteCreditCard.NewPrimary.ID != first.ID {
				t.Fatalf("delete returned %+v", del.DeleteCreditCard)
			}
			list = h.cardsOf(token, custID)
			if len(list) != 1 || list[0].ID != first.ID || !list[0].IsPrimary || list[0].Description != "Office Visa" {
				t.Fatalf("after delete the cards are %+v", list)
			}

			// Every change was audited, as this staff member.
			events := h.app.DB.AuditEvent.Query().Where(auditevent.CustomerID(target.ID)).AllX(h.sys)
			var actions []string
			for _, e := range events {
				if e.ActorStaffID == nil || *e.ActorStaffID != tn.staff[role].ID || e.Outcome != auditevent.OutcomeSUCCESS {
					t.Fatalf("audit event %+v is not this staff member's success", e)
				}
				actions = append(actions, e.Action)
			}
			want := "[credit_card.add credit_card.add credit_card.rename credit_card.set_primary credit_card.delete]"
			if fmt.Sprint(actions) != want {
				t.Fatalf("audit actions %v, want %s", actions, want)
			}
		})
	}
}

// A role the company does not allow, and an anonymous caller, are refused
// every card change and change nothing; the staff member's attempts are audited.
func TestDisallowedRoleAndAnonymousChangeNothing(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Blossom", 2)
	admin := tn.tokens[viewer.Admin]
	custID := fmt.Sprint(tn.customers[0].ID)
	c1 := h.addCard(admin, custID, "4111111111111111", "Office", "")

	calls := []struct{ name, query string }{
		{"add", `mutation($c: ID!, $t: String!) { addCreditCard(input: {customerId: $c, paymentToken: $t}) { id } }`},
		{"edit", `mutation($id: ID!) { editCreditCard(id: $id, input: {description: "mine now"}) { id } }`},
		{"setPrimary", `mutation($id: ID!) { setPrimaryCreditCard(id: $id) { id } }`},
		{"delete", `mutation($id: ID!) { deleteCreditCard(id: $id) { deletedId } }`},
		{"read cards", `query($id: ID!) { node(id: $id) { id ... on CreditCard { last4 } } }`},
	}
	for _, who := range []struct {
		name, token, code string
	}{
		{"salesperson", tn.tokens[viewer.Salesperson], "FORBIDDEN"},
		{"viewer role", tn.tokens[viewer.Viewer], "FORBIDDEN"},
		{"anonymous", "", "UNAUTHENTICATED"},
		{"a made-up token", "cfs_not-a-real-session", "UNAUTHENTICATED"},
	} {
		for _, c := range calls {
			t.Run(who.name+"/"+c.name, func(t *testing.T) {
				h.t = t
				vars := map[string]any{"c": custID, "t": h.paymentToken("4242424242424242"), "id": c1.ID}
				before := h.snapshot() // after tokenizing, which writes at the gateway
				r := h.gql(who.token, c.query, vars)
				if r.code() != who.code {
					t.Fatalf("got %s (%s), want %s", r.code(), r.Raw, who.code)
				}
				if after := h.snapshot(); after != before {
					t.Fatalf("a refused call changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
				}
			})
		}
	}
	denied := h.app.DB.AuditEvent.Query().Where(auditevent.OutcomeEQ(auditevent.OutcomeDENIED), auditevent.ActorStaffID(tn.staff[viewer.Salesperson].ID)).CountX(h.sys)
	if denied != 4 {
		t.Fatalf("salesperson's denied mutations audited %d times, want 4", denied)
	}
}

// A company may widen or narrow who manages cards.
func TestCompanyCardManagerSettingIsEnforced(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Blossom", 1)
	h.app.DB.Company.UpdateOne(tn.company).SetCardManagerRoles([]viewer.Role{viewer.Salesperson}).ExecX(h.sys)
	custID := fmt.Sprint(tn.customers[0].ID)
	c := h.addCard(tn.tokens[viewer.Salesperson], custID, "4111111111111111", "", "")
	r := h.gql(tn.tokens[viewer.Admin], `mutation($id: ID!) { deleteCreditCard(id: $id) { deletedId } }`, map[string]any{"id": c.ID})
	if r.code() != "FORBIDDEN" {
		t.Fatalf("an admin outside the company's card managers got %s", r.Raw)
	}
	if n := h.app.DB.CreditCard.Query().Where(creditcard.CustomerID(tn.customers[0].ID)).CountX(h.sys); n != 1 {
		t.Fatalf("cards = %d, want 1", n)
	}
}

// The audit trail is readable by ADMIN and CREDIT_MANAGER only, newest first,
// and names who did what without card data.
func TestAuditTrailReaders(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Blossom", 1)
	cust := fmt.Sprint(tn.customers[0].ID)
	c := h.addCard(tn.tokens[viewer.SalesManager], cust, "4111111111111111", "Office", "")
	h.gql(tn.tokens[viewer.SalesManager], `mutation($id: ID!) { editCreditCard(id: $id, input: {description: "Front desk"}) { id } }`,
		map[string]any{"id": c.ID}).decode(t, &struct{}{})
	const q = `query($id: ID!) { node(id: $id) { ... on Customer { auditEvents(first: 10, orderBy: {field: CREATED_AT, direction: DESC}) {
		totalCount edges { node { action outcome actorKind actorStaff { email } details } } } } } }`
	for _, role := range []viewer.Role{viewer.Admin, viewer.CreditManager} {
		r := h.gql(tn.tokens[role], q, map[string]any{"id": cust})
		var out struct {
			Node struct {
				AuditEvents struct {
					TotalCount int
					Edges      []struct {
						Node struct {
							Action, Outcome, ActorKind string
							ActorStaff                 struct{ Email string }
							Details                    map[string]any
						}
					}
				}
			}
		}
		r.decode(t, &out)
		ev := out.Node.AuditEvents
		if ev.TotalCount != 2 || ev.Edges[0].Node.Action != "credit_card.rename" || ev.Edges[1].Node.Action != "credit_card.add" {
			t.Fatalf("%s sees %+v", role, ev)
		}
		first := ev.Edges[0].Node
		if first.ActorStaff.Email != "sales_manager@blossom.test" || first.Details["to"] != "Front desk" || first.Details["card"] != "VISA •••• 1111" {
			t.Fatalf("%s sees event %+v", role, first)
		}
	}
	for _, role := range []viewer.Role{viewer.SalesManager, viewer.Salesperson} {
		if r := h.gql(tn.tokens[role], q, map[string]any{"id": cust}); r.code() != "FORBIDDEN" {
			t.Fatalf("%s reading the audit trail got %s", role, r.Raw)
		}
	}
}

// canPayByCard applies the US/USD rules to each customer.
func TestCanPayByCardSaysWhyNot(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Blossom", 1)
	cad := h.app.DB.Customer.Create().SetCompanyID(tn.company.ID).SetCode("CAD1").SetName("Maple Leaf").SetDefaultCurrency("CAD").SetCountry("CA").SaveX(h.sys)
	r := h.gql(tn.tokens[viewer.Admin], `query($id: ID!) { node(id: $id) { ... on Customer { canPayByCard { allowed reason } } } }`, map[string]any{"id": fmt.Sprint(cad.ID)})
	var out struct {
		Node struct {
			CanPayByCard struct {
				Allowed bool
				Reason  *string
			}
		}
	}
	r.decode(t, &out)
	if out.Node.CanPayByCard.Allowed || out.Node.CanPayByCard.Reason == nil {
		t.Fatalf("a CAD customer can pay by card: %+v", out.Node.CanPayByCard)
	}
}
