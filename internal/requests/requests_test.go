package requests_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"cardfile/ent/privacy"
	"cardfile/internal/cards"
	"cardfile/internal/db"
	"cardfile/internal/db/dbtest"
	"cardfile/internal/events"
	"cardfile/internal/gateway/sandbox"
	"cardfile/internal/jobs"
	"cardfile/internal/mail"
	"cardfile/internal/requests"
	"cardfile/internal/sealer"
	"cardfile/internal/viewer"
)

// failAfterEnqueue queues the email for real, then fails the transaction,
// as any later step of a request could.
type failAfterEnqueue struct{ q *jobs.Queue }

var errLater = errors.New("a later step failed")

func (f failAfterEnqueue) EnqueueCardRequestEmail(ctx context.Context, tx *db.Tx, id int, sealed string) error {
	if err := f.q.EnqueueCardRequestEmail(ctx, tx, id, sealed); err != nil {
		return err
	}
	return errLater
}

// A request whose transaction rolls back leaves no row and sends no email,
// although its email job had been inserted.
func TestRolledBackRequestSendsNoEmail(t *testing.T) {
	d := dbtest.Open(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	key := make([]byte, sealer.KeySize)
	_, _ = rand.Read(key)
	seal, _ := sealer.New(key)
	gw, err := sandbox.New(d.SQL, d.Dialect, "http://cardfile.test")
	if err != nil {
		t.Fatal(err)
	}
	q, err := jobs.New(context.Background(), d, jobs.Options{PollInterval: 10 * time.Millisecond, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	broker := events.NewLocal(d)
	outbox := mail.NewOutbox(d, seal)
	c := cards.New(d, gw, seal, broker, q, log, nil)
	svc := requests.New(d, c, gw, broker, failAfterEnqueue{q}, outbox, seal, nil, log, nil, requests.Config{PublicURL: "http://cardfile.test"})
	if err := q.Start(context.Background(), handlers{svc, c}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Stop(context.Background()) })

	sys := privacy.DecisionContext(context.Background(), privacy.Allow)
	co := d.Company.Create().SetName("Acme").SaveX(sys)
	cu := d.Customer.Create().SetCompanyID(co.ID).SetCode("C1").SetName("Cust").SaveX(sys)
	staff := viewer.NewContext(context.Background(), &viewer.Staff{CompanyID: co.ID, Role: viewer.Admin, CanManageCards: true,
		StaffID: d.Staff.Create().SetCompanyID(co.ID).SetEmail("a@acme.test").SetName("A").SetRole(viewer.Admin).SetPasswordHash("x").SaveX(sys).ID})
	sub := broker.Subscribe(t.Context(), events.Requests, cu.ID)

	if _, err := svc.Request(staff, cu.ID, "ap@buyer.example"); !errors.Is(err, errLater) {
		t.Fatalf("Request = %v, want the later step's failure", err)
	}
	if n := d.CardRequest.Query().CountX(sys); n != 0 {
		t.Fatalf("%d card requests saved", n)
	}
	var jobsLeft int
	if err := d.SQL.QueryRow("SELECT count(*) FROM river_job WHERE kind = 'card_request_email'").Scan(&jobsLeft); err != nil {
		t.Fatal(err)
	}
	if jobsLeft != 0 {
		t.Fatalf("%d email jobs survived the rollback", jobsLeft)
	}
	// Only a queued job sends: with none left, none can go out later.
	if sent, err := outbox.List(context.Background(), 10); err != nil || len(sent) != 0 {
		t.Fatalf("outbox = %d messages, %v; want none", len(sent), err)
	}
	select {
	case e := <-sub:
		t.Fatalf("a rolled-back request published %+v", e)
	default:
	}
}

// handlers is the job queue's work, as the app wires it.
type handlers struct {
	*requests.Service
	cards *cards.Service
}

func (h handlers) DeleteGatewayCard(ctx context.Context, sealed string) error {
	return h.cards.DeleteGatewayCard(ctx, sealed)
}

func (handlers) PurgeExpired(context.Context) (int, error) { return 0, nil }

func (handlers) ReconcilePayments(context.Context) (int, error) { return 0, nil }

func (handlers) PruneEvents(context.Context) (int, error) { return 0, nil }
