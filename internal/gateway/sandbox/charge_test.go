package sandbox

import (
	"context"
	"errors"
	"testing"

	"cardfile/internal/gateway"
)

func TestChargeFollowsTheTestAmountsAndCards(t *testing.T) {
	eachDB(t, func(t *testing.T, d testDB) {
		g := newGateway(t, d, newTestClock())
		ok := mustSaveCard(t, g, CardInput{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030, CVC: "123", PostalCode: "12345"})
		bad := mustSaveCard(t, g, CardInput{Number: "4000000000000341", ExpMonth: 12, ExpYear: 2030, CVC: "123", PostalCode: "12345"})
		cases := []struct {
			name    string
			card    string
			cents   int64
			decline string
			err     error
			taken   int
		}{
			{"approved", ok.Token, 12500, "", nil, 1},
			{"insufficient funds", ok.Token, 12551, "insufficient_funds", nil, 0},
			{"do not honor", ok.Token, 12552, "do_not_honor", nil, 0},
			{"a card that declines charges", bad.Token, 12500, "card_declined", nil, 0},
			{"answer lost after the charge was taken", ok.Token, 12577, "", gateway.ErrOutcomeUnknown, 1},
			{"gateway down", ok.Token, 12578, "", gateway.ErrUnavailable, 0},
			{"unknown card", "sbct_nope", 12500, "", gateway.ErrInvalidToken, 0},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before, _ := g.TakenCharges(context.Background())
				res, err := g.Charge(context.Background(), gateway.ChargeRequest{CardToken: c.card, AmountCents: c.cents, Currency: "USD", Reference: "INV-1"})
				var d *gateway.DeclineError
				switch {
				case c.decline != "":
					if !errors.As(err, &d) || d.Code != c.decline || d.Message == "" {
						t.Fatalf("Charge = %v, want decline %s", err, c.decline)
					}
				case c.err != nil:
					if !errors.Is(err, c.err) {
						t.Fatalf("Charge = %v, want %v", err, c.err)
					}
				default:
					if err != nil || res.TransactionID == "" || res.AuthCode == "" {
						t.Fatalf("Charge = %+v, %v", res, err)
					}
				}
				after, _ := g.TakenCharges(context.Background())
				if after-before != c.taken {
					t.Fatalf("%d charges taken, want %d", after-before, c.taken)
				}
			})
		}
	})
}

func TestChargeIdempotencyKeyChargesOnce(t *testing.T) {
	eachDB(t, func(t *testing.T, d testDB) {
		g := newGateway(t, d, newTestClock())
		card := mustSaveCard(t, g, CardInput{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030, CVC: "123", PostalCode: "12345"})
		req := gateway.ChargeRequest{CardToken: card.Token, AmountCents: 5000, Currency: "USD", IdempotencyKey: "k-1"}
		first, err := g.Charge(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := g.Charge(context.Background(), req)
		if err != nil || again.TransactionID != first.TransactionID {
			t.Fatalf("replay = %+v, %v; want the first transaction %s", again, err, first.TransactionID)
		}
		if n, _ := g.TakenCharges(context.Background()); n != 1 {
			t.Fatalf("%d charges taken, want 1", n)
		}
	})
}
