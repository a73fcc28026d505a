package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"cardfile/ent/auditevent"
	"cardfile/ent/payment"
	"cardfile/internal/app"
	"cardfile/internal/app/apptest"
	"cardfile/internal/events"
	"cardfile/internal/gateway"
	"cardfile/internal/viewer"
)

// withReconcile reconciles any payment older than after, and leaves the
// periodic pass to the test: it runs once, at start (reconciled waits for
// it), then not for an hour.
func withReconcile(after time.Duration) func(*app.Options) {
	return func(o *app.Options) { o.ReconcileAfter, o.Jobs.ReconcileInterval = after, time.Hour }
}

// reconciled waits until the reconciler's start-up pass is over, so that
// only the test's own calls settle what it creates next.
func (h *harness) reconciled() {
	h.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !apptest.JobsFinished(h.t, h.app.DB.SQL, "payment_reconcile"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			h.t.Fatal("the reconciler's start-up pass did not finish within 30 s")
		}
	}
}

// Payments left UNKNOWN or PENDING settle from the gateway's own record:
// approved and declined as the gateway has them, FAILED when it never saw
// the charge; audited, published, and what a replay of the key returns.
func TestReconcilerSettlesPaymentsFromTheGatewaysRecord(t *testing.T) {
	h := newHarness(t, withReconcile(time.Nanosecond))
	h.reconciled()
	tn := h.newTenant("Blossom", 1)
	staff := tn.tokens[viewer.Admin]
	cu := tn.customers[0]
	cust := fmt.Sprint(cu.ID)
	card := h.addCard(staff, cust, "4111111111111111", "", "")
	stored := h.app.DB.CreditCard.Query().OnlyX(h.sys)

	// The charge is taken but its answer is lost: UNKNOWN.
	lost := payIn(cust, "250.77", map[string]any{"creditCardId": card.ID})
	if r := h.apply(staff, lost); r.Errors[0].Extensions["reason"] != "OUTCOME_UNKNOWN" {
		t.Fatalf("lost answer: %s", r.Raw)
	}
	// A process died mid-charge, before and after the gateway declined it:
	// PENDING rows, as a killed charge leaves them.
	mk := func(key string, cents int64, age time.Duration) int {
		return h.app.DB.Payment.Create().SetCreatedAt(time.Now().UTC().Add(-age)).
			SetCompanyID(cu.CompanyID).SetCustomerID(cu.ID).SetCreditCardID(stored.ID).
			SetCardBrand(string(stored.Brand)).SetCardLast4(stored.Last4).SetCardExpMonth(stored.ExpMonth).SetCardExpYear(stored.ExpYear).
			SetAmountCents(cents).SetCurrency("USD").SetScreen(payment.ScreenRECEIVE_PAYMENTS).
			SetIdempotencyKey(key).SetRequestHash([]byte("h")).SaveX(h.sys).ID
	}
	// "Not charged" is believed only once no charge can still be on its way.
	neverSent := mk("key-never-sent", 1000, 10*time.Minute)
	mk("key-not-sent-yet", 1100, 0)
	declinedKey := "key-declined-then-died"
	declined := mk(declinedKey, 1052, 0)
	token, err := h.app.Sealer.Open(stored.GatewayToken, "credit_card.gateway_token")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.app.Gateway.Charge(context.Background(), gateway.ChargeRequest{CardToken: token, ExpMonth: stored.ExpMonth, ExpYear: stored.ExpYear,
		AmountCents: 1052, Currency: "USD", IdempotencyKey: fmt.Sprintf("cardfile:%d:%s", cu.CompanyID, declinedKey)}); err == nil {
		t.Fatal("the .52 charge was not declined")
	}
	taken := h.taken()

	sub := h.app.Events.Subscribe(t.Context(), events.Payments, cu.ID)
	n, err := h.app.Payments.Reconcile(context.Background())
	if err != nil || n != 3 {
		t.Fatalf("reconciled %d (%v), want 3", n, err)
	}
	want := map[string]payment.Status{lost["idempotencyKey"].(string): payment.StatusAPPROVED,
		"key-never-sent": payment.StatusFAILED, declinedKey: payment.StatusDECLINED, "key-not-sent-yet": payment.StatusPENDING}
	for key, status := range want {
		p := h.app.DB.Payment.Query().Where(payment.IdempotencyKey(key)).OnlyX(h.sys)
		if p.Status != status || (p.ResolvedAt == nil) != (status == payment.StatusPENDING) {
			t.Errorf("payment %s: %s resolved %v, want %s", key, p.Status, p.ResolvedAt, status)
		}
		if status == payment.StatusAPPROVED && (p.GatewayTransactionID == "" || p.AuthCode == "") {
			t.Errorf("approved payment %s has no transaction id or auth code", key)
		}
		if status == payment.StatusFAILED && p.DeclineCode != "GATEWAY_UNAVAILABLE" {
			t.Errorf("failed payment %s stores code %q, want a listed code (a replay answers with it)", key, p.DeclineCode)
		}
		if status == payment.StatusDECLINED && p.DeclineMessage != "Do not honor" {
			t.Errorf("declined payment %s: %q", key, p.DeclineMessage)
		}
	}
	if got := h.taken(); got != taken {
		t.Fatalf("reconciling took %d more charges", got-taken)
	}
	audits := h.app.DB.AuditEvent.Query().Where(auditevent.Action("payment.reconcile")).AllX(h.sys)
	if len(audits) != 3 {
		t.Fatalf("%d reconcile audit events, want 3", len(audits))
	}
	for _, a := range audits {
		if a.ActorKind != auditevent.ActorKindSYSTEM || a.CustomerID == nil || *a.CustomerID != cu.ID {
			t.Errorf("audit event %+v", a)
		}
	}
	got := map[int]events.Kind{}
	for range 3 {
		select {
		case ev := <-sub:
			got[ev.ID] = ev.Kind
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d of 3 settlements were published: %v", len(got), got)
		}
	}
	if got[neverSent] != events.Kind(payment.StatusFAILED) || got[declined] != events.Kind(payment.StatusDECLINED) {
		t.Errorf("events %v", got)
	}

	// The replay of the lost answer's key now returns the approved payment.
	r := h.apply(staff, lost)
	var out struct{ ApplyCreditCardPayment paymentOut }
	r.decode(t, &out)
	if out.ApplyCreditCardPayment.Status != "APPROVED" {
		t.Fatalf("replay after reconciling: %s", r.Raw)
	}
	if n, err := h.app.Payments.Reconcile(context.Background()); err != nil || n != 0 {
		t.Fatalf("a second pass settled %d (%v)", n, err)
	}
	if h.taken() != taken {
		t.Fatal("the replay charged again")
	}
}

// A payment younger than the grace period is left alone: its charge may
// still be on its way to the gateway.
func TestReconcilerWaitsOutTheGracePeriod(t *testing.T) {
	h := newHarness(t, withReconcile(time.Hour))
	h.reconciled()
	tn := h.newTenant("Blossom", 1)
	staff := tn.tokens[viewer.Admin]
	cust := fmt.Sprint(tn.customers[0].ID)
	card := h.addCard(staff, cust, "4111111111111111", "", "")
	h.apply(staff, payIn(cust, "250.77", map[string]any{"creditCardId": card.ID}))
	if n, err := h.app.Payments.Reconcile(context.Background()); err != nil || n != 0 {
		t.Fatalf("reconciled %d (%v) within the grace period", n, err)
	}
	if p := h.app.DB.Payment.Query().OnlyX(h.sys); p.Status != payment.StatusUNKNOWN || p.ResolvedAt != nil {
		t.Fatalf("payment %s resolved %v", p.Status, p.ResolvedAt)
	}
}
