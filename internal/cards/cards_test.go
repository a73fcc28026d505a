package cards_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"cardfile/ent"
	"cardfile/ent/creditcard"
	"cardfile/ent/payment"
	"cardfile/ent/privacy"
	"cardfile/internal/apperr"
	"cardfile/internal/cards"
	"cardfile/internal/db"
	"cardfile/internal/db/dbtest"
	"cardfile/internal/events"
	"cardfile/internal/gateway"
	"cardfile/internal/gateway/sandbox"
	"cardfile/internal/sealer"
	"cardfile/internal/textguard"
	"cardfile/internal/viewer"
)

var now = time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)

func TestExpiryFlags(t *testing.T) {
	cases := []struct {
		month, year   int
		expired, soon bool
	}{
		{10, 2026, true, false},  // ended 1 Nov
		{11, 2026, false, true},  // good through 30 Nov
		{12, 2026, false, true},  // ends 1 Jan: within 60 days
		{1, 2027, false, false},  // ends 1 Feb: 67 days away
		{12, 2030, false, false}, // far away
	}
	for _, c := range cases {
		card := &ent.CreditCard{ExpMonth: c.month, ExpYear: c.year}
		if got := cards.Expired(card, now); got != c.expired {
			t.Errorf("%02d/%d expired = %v, want %v", c.month, c.year, got, c.expired)
		}
		if got := cards.ExpiresSoon(card, now); got != c.soon {
			t.Errorf("%02d/%d expiresSoon = %v, want %v", c.month, c.year, got, c.soon)
		}
	}
}

type fixture struct {
	svc      *cards.Service
	d        *db.DB
	gw       *sandbox.Gateway
	seal     *sealer.Sealer
	broker   *events.Local
	sys      context.Context
	staff    context.Context
	customer *ent.Customer
}

func newFixture(t *testing.T, gw gateway.Gateway) *fixture {
	t.Helper()
	d := dbtest.Open(t)
	sb, err := sandbox.New(d.SQL, d.Dialect, "http://cardfile.test", sandbox.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	if gw == nil {
		gw = sb
	}
	key := make([]byte, sealer.KeySize)
	_, _ = rand.Read(key)
	seal, _ := sealer.New(key)
	f := &fixture{d: d, gw: sb, seal: seal, broker: events.NewLocal(d), sys: privacy.DecisionContext(context.Background(), privacy.Allow)}
	f.svc = cards.New(d, gw, seal, f.broker, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), func() time.Time { return now })
	co := d.Company.Create().SetName("Acme").SaveX(f.sys)
	st := d.Staff.Create().SetCompanyID(co.ID).SetEmail("a@acme.test").SetName("A").SetRole(viewer.Admin).SetPasswordHash("x").SaveX(f.sys)
	f.customer = d.Customer.Create().SetCompanyID(co.ID).SetCode("C1").SetName("Cust").SaveX(f.sys)
	f.staff = viewer.NewContext(context.Background(), &viewer.Staff{StaffID: st.ID, CompanyID: co.ID, Role: viewer.Admin, CanManageCards: true})
	return f
}

// insert puts a card straight into the database, as history would have it.
func (f *fixture) insert(t *testing.T, month, year int, primary bool, created time.Time) *ent.CreditCard {
	t.Helper()
	return f.d.CreditCard.Create().SetCompanyID(f.customer.CompanyID).SetCustomerID(f.customer.ID).
		SetGatewayToken("v1:x").SetBrand("VISA").SetLast4(fmt.Sprintf("%04d", month*100+year%100)).
		SetExpMonth(month).SetExpYear(year).SetSource("STAFF").SetIsPrimary(primary).SetCreatedAt(created).SaveX(f.sys)
}

func (f *fixture) token(t *testing.T, number string) string {
	t.Helper()
	res, err := f.gw.Tokenize(context.Background(), sandbox.CardInput{Number: number, ExpMonth: 12, ExpYear: 2029, CVC: "123", PostalCode: "12345"})
	if err != nil {
		t.Fatal(err)
	}
	return res.Token
}

func code(err error) apperr.Code { return apperr.CodeOf(err) }

func TestDeletingThePrimaryPromotesTheNewestUnexpiredCard(t *testing.T) {
	f := newFixture(t, nil)
	old := f.insert(t, 12, 2029, false, now.Add(-72*time.Hour))
	newer := f.insert(t, 6, 2030, false, now.Add(-48*time.Hour))
	f.insert(t, 1, 2026, false, now.Add(-24*time.Hour)) // newest, but expired
	primary := f.insert(t, 3, 2031, true, now.Add(-96*time.Hour))

	promoted, err := f.svc.Delete(f.staff, primary.ID)
	if err != nil {
		t.Fatal(err)
	}
	if promoted == nil || promoted.ID != newer.ID {
		t.Fatalf("promoted %+v, want the newest unexpired card %d (not %d, and not the expired one)", promoted, newer.ID, old.ID)
	}
	if n := f.d.CreditCard.Query().Where(creditcard.IsPrimary(true)).CountX(f.sys); n != 1 {
		t.Fatalf("%d primary cards", n)
	}
}

func TestDeletingThePrimaryWithOnlyExpiredCardsLeftLeavesNoPrimary(t *testing.T) {
	f := newFixture(t, nil)
	f.insert(t, 1, 2025, false, now.Add(-time.Hour))
	primary := f.insert(t, 3, 2031, true, now.Add(-2*time.Hour))
	promoted, err := f.svc.Delete(f.staff, primary.ID)
	if err != nil || promoted != nil {
		t.Fatalf("Delete = %v, %v; want no promotion", promoted, err)
	}
	if n := f.d.CreditCard.Query().Where(creditcard.IsPrimary(true)).CountX(f.sys); n != 0 {
		t.Fatalf("an expired card became primary")
	}
}

func TestAnExpiredCardCannotBecomePrimary(t *testing.T) {
	f := newFixture(t, nil)
	primary := f.insert(t, 3, 2031, true, now)
	expired := f.insert(t, 1, 2025, false, now)
	if _, err := f.svc.SetPrimary(f.staff, expired.ID); code(err) != apperr.BadUserInput {
		t.Fatalf("SetPrimary(expired) = %v, want BAD_USER_INPUT", err)
	}
	if !f.d.CreditCard.GetX(f.sys, primary.ID).IsPrimary {
		t.Fatal("the primary card lost its flag")
	}
}

func TestCardLimitPerCustomerLeavesNothingAtTheGateway(t *testing.T) {
	f := newFixture(t, nil)
	for i := range cards.MaxCardsPerCustomer {
		f.insert(t, 1+i%12, 2030+i/12, i == 0, now)
	}
	var before int
	_ = f.d.SQL.QueryRow("SELECT count(*) FROM sandbox_cards").Scan(&before)
	_, err := f.svc.Add(f.staff, cards.AddInput{CustomerID: f.customer.ID, PaymentToken: f.token(t, "4242424242424242")})
	if e, ok := apperr.As(err); !ok || e.Code != apperr.BadUserInput || e.Field != "customerId" {
		t.Fatalf("Add over the limit = %v", err)
	}
	var after int
	_ = f.d.SQL.QueryRow("SELECT count(*) FROM sandbox_cards").Scan(&after)
	if after != before {
		t.Fatalf("the gateway kept the refused card: vault %d → %d", before, after)
	}
}

func TestGatewayTokenIsSealedAndDeletedAtTheGateway(t *testing.T) {
	f := newFixture(t, nil)
	c, err := f.svc.Add(f.staff, cards.AddInput{CustomerID: f.customer.ID, PaymentToken: f.token(t, "4242424242424242")})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := f.seal.Open(c.GatewayToken, cards.GatewayTokenPurpose)
	if err != nil || raw == c.GatewayToken {
		t.Fatalf("stored token is not sealed: %v", err)
	}
	vault := func() (n int) { _ = f.d.SQL.QueryRow("SELECT count(*) FROM sandbox_cards").Scan(&n); return n }
	if vault() != 1 {
		t.Fatalf("vault holds %d cards, want 1", vault())
	}
	if _, err := f.svc.Delete(f.staff, c.ID); err != nil {
		t.Fatal(err)
	}
	if vault() != 0 {
		t.Fatal("deleting the card left it stored at the gateway")
	}
}

// next is the subscription's next event, within 10 s.
func next(t *testing.T, sub <-chan events.Event) events.Event {
	t.Helper()
	select {
	case e := <-sub:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
		return events.Event{}
	}
}

// Events go out only for committed changes.
func TestEventsFollowCommitsOnly(t *testing.T) {
	f := newFixture(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub := f.broker.Subscribe(ctx, events.Cards, f.customer.ID)

	c, err := f.svc.Add(f.staff, cards.AddInput{CustomerID: f.customer.ID, PaymentToken: f.token(t, "4242424242424242")})
	if err != nil {
		t.Fatal(err)
	}
	if e := next(t, sub); e.Kind != events.Added || e.ID != c.ID || e.CustomerID != f.customer.ID {
		t.Fatalf("event %+v, want ADDED for card %d", e, c.ID)
	}
	// A refused duplicate rolls back: no event.
	if _, err := f.svc.Add(f.staff, cards.AddInput{CustomerID: f.customer.ID, PaymentToken: f.token(t, "4242424242424242")}); code(err) != apperr.Conflict {
		t.Fatalf("duplicate = %v, want CONFLICT", err)
	}
	if _, err := f.svc.Rename(f.staff, c.ID, "Renamed"); err != nil {
		t.Fatal(err)
	}
	if e := next(t, sub); e.Kind != events.Updated {
		t.Fatalf("after a refused add and a rename the next event is %+v, want UPDATED", e)
	}
}

type downGateway struct{ gateway.Gateway }

func (downGateway) SaveCard(context.Context, string) (gateway.Card, error) {
	return gateway.Card{}, fmt.Errorf("dial tcp: connection refused: %w", gateway.ErrUnavailable)
}

func TestGatewayOutageIsGatewayUnavailable(t *testing.T) {
	f := newFixture(t, downGateway{})
	_, err := f.svc.Add(f.staff, cards.AddInput{CustomerID: f.customer.ID, PaymentToken: "sbpt_x"})
	if code(err) != apperr.GatewayUnavailable {
		t.Fatalf("Add with the gateway down = %v", err)
	}
	if n := f.d.CreditCard.Query().CountX(f.sys); n != 0 {
		t.Fatalf("%d cards saved while the gateway was down", n)
	}
	if errors.Is(err, gateway.ErrUnavailable) != true {
		t.Fatal("the cause is lost for the log")
	}
}

// flakyDelete is the sandbox with deletions failing until it recovers.
type flakyDelete struct {
	*sandbox.Gateway
	down bool
}

func (g *flakyDelete) DeleteCard(ctx context.Context, token string) error {
	if g.down {
		return fmt.Errorf("connection reset: %w", gateway.ErrUnavailable)
	}
	return g.Gateway.DeleteCard(ctx, token)
}

type cleanupRecorder struct{ sealed []string }

func (r *cleanupRecorder) RetryGatewayCardDeletion(_ context.Context, sealed string) error {
	r.sealed = append(r.sealed, sealed)
	return nil
}

// When the gateway cannot delete a stored card at once, the deletion is
// queued with the token sealed, and the retry removes the card there.
func TestFailedGatewayDeletionIsRetried(t *testing.T) {
	f := newFixture(t, nil)
	flaky := &flakyDelete{Gateway: f.gw}
	rec := &cleanupRecorder{}
	svc := cards.New(f.d, flaky, f.seal, f.broker, rec, slog.New(slog.NewTextHandler(io.Discard, nil)), func() time.Time { return now })
	c, err := svc.Add(f.staff, cards.AddInput{CustomerID: f.customer.ID, PaymentToken: f.token(t, "4242424242424242")})
	if err != nil {
		t.Fatal(err)
	}
	flaky.down = true
	if _, err := svc.Delete(f.staff, c.ID); err != nil {
		t.Fatalf("deleting the card here failed because the gateway did: %v", err)
	}
	vault := func() (n int) { _ = f.d.SQL.QueryRow("SELECT count(*) FROM sandbox_cards").Scan(&n); return n }
	if len(rec.sealed) != 1 || vault() != 1 {
		t.Fatalf("queued retries %d, vault %d; want 1 retry and the card still at the gateway", len(rec.sealed), vault())
	}
	if strings.HasPrefix(rec.sealed[0], "sbct_") {
		t.Fatal("the retry job would hold the raw gateway token")
	}
	flaky.down = false
	if err := svc.DeleteGatewayCard(context.Background(), rec.sealed[0]); err != nil || vault() != 0 {
		t.Fatalf("the retry: %v, vault %d", err, vault())
	}
}

// oddGateway is the sandbox answering with a cardholder name and postal
// code of its choosing, as another gateway might.
type oddGateway struct {
	*sandbox.Gateway
	name, zip string
}

func (g *oddGateway) SaveCard(ctx context.Context, token string) (gateway.Card, error) {
	c, err := g.Gateway.SaveCard(ctx, token)
	c.CardholderName, c.PostalCode = g.name, g.zip
	return c, err
}

// Whatever the gateway says about the cardholder cannot fail the save after
// the payment token is spent: it is fitted to what we store.
func TestWhatTheGatewaySendsIsFittedBeforeSaving(t *testing.T) {
	cases := []struct {
		name, zip, wantName, wantZip string
	}{
		{"Pat Buyer", "12345-6789", "Pat Buyer", "12345-6789"},
		{strings.Repeat("é", 150), "12345", strings.Repeat("é", 100), "12345"},
		{"Pat\x00\tBuyer\u200b", "SW1A 1AA", "Pat Buyer\u200b", "SW1A 1AA"},
		{"Pat Buyer", "not a postal code", "Pat Buyer", ""},
		{strings.Repeat("a", 86) + " 6759649826430", "12345", strings.Repeat("a", 86) + " " + textguard.Masked[:13], "12345"},
		{"Pat Buyer", "12345\x00", "Pat Buyer", ""},
	}
	f := newFixture(t, nil)
	for _, c := range cases {
		t.Run(fmt.Sprintf("%.20q", c.name), func(t *testing.T) {
			svc := cards.New(f.d, &oddGateway{Gateway: f.gw, name: c.name, zip: c.zip}, f.seal, f.broker, nil,
				slog.New(slog.NewTextHandler(io.Discard, nil)), func() time.Time { return now })
			card, err := svc.Add(f.staff, cards.AddInput{CustomerID: f.customer.ID, PaymentToken: f.token(t, "4242424242424242"), AllowDuplicate: true})
			if err != nil {
				t.Fatalf("Add = %v", err)
			}
			if card.CardholderName != c.wantName || card.BillingZip != c.wantZip {
				t.Fatalf("kept name %q, zip %q; want %q, %q", card.CardholderName, card.BillingZip, c.wantName, c.wantZip)
			}
		})
	}
}

// A card being charged keeps its token at the gateway until the payment's
// outcome is recorded: deleting it meanwhile is a CONFLICT, and works once
// the payment is settled.
func TestACardBeingChargedIsNotDeleted(t *testing.T) {
	f := newFixture(t, nil)
	c, err := f.svc.Add(f.staff, cards.AddInput{CustomerID: f.customer.ID, PaymentToken: f.token(t, "4242424242424242")})
	if err != nil {
		t.Fatal(err)
	}
	p := f.d.Payment.Create().SetCompanyID(f.customer.CompanyID).SetCustomerID(f.customer.ID).SetCreditCardID(c.ID).
		SetAmountCents(1000).SetCurrency("USD").SetScreen(payment.ScreenRECEIVE_PAYMENTS).
		SetIdempotencyKey("charging-1").SetRequestHash([]byte{1}).SaveX(f.sys)
	if _, err := f.svc.Delete(f.staff, c.ID); code(err) != apperr.Conflict {
		t.Fatalf("Delete while charging = %v, want CONFLICT", err)
	}
	if !f.d.CreditCard.Query().Where(creditcard.ID(c.ID)).ExistX(f.sys) {
		t.Fatal("the card was deleted while being charged")
	}
	p.Update().SetStatus(payment.StatusAPPROVED).ExecX(f.sys)
	if _, err := f.svc.Delete(f.staff, c.ID); err != nil {
		t.Fatalf("Delete after the charge = %v", err)
	}
}
