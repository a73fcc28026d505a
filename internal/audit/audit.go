// Package audit writes the audit trail: every change in the same
// transaction as the change, and every denied attempt on its own.
package audit

import (
	"context"
	"fmt"
	"log/slog"
	"maps"

	"cardfile/ent"
	"cardfile/ent/auditevent"
	"cardfile/ent/privacy"
	"cardfile/internal/db"
	"cardfile/internal/viewer"
)

// Entry is one audited act. Details must never hold card data or secrets.
type Entry struct {
	Action      string // e.g. "credit_card.add"
	CustomerID  int    // 0 when not about one customer
	SubjectType string
	SubjectID   int
	Outcome     auditevent.Outcome
	Details     map[string]any
}

// Actor is who acted: a staff member, or a customer through an emailed link.
type Actor struct {
	Kind      auditevent.ActorKind
	CompanyID int
	StaffID   int // 0 unless Kind is STAFF
}

// Staff is the signed-in staff member as an actor.
func Staff(v *viewer.Staff) Actor {
	return Actor{Kind: auditevent.ActorKindSTAFF, CompanyID: v.CompanyID, StaffID: v.StaffID}
}

// Customer is a company's customer acting through a card-request link.
func Customer(companyID int) Actor {
	return Actor{Kind: auditevent.ActorKindCUSTOMER, CompanyID: companyID}
}

// Record writes e inside tx as the signed-in staff member's act.
func Record(ctx context.Context, tx *db.Tx, e Entry) error {
	v := viewer.FromContext(ctx)
	if v == nil {
		return fmt.Errorf("audit %s: no viewer", e.Action)
	}
	return RecordAs(ctx, tx, Staff(v), e)
}

// RecordAs writes e inside tx as a's act.
func RecordAs(ctx context.Context, tx *db.Tx, a Actor, e Entry) error {
	if err := create(ctx, tx.AuditEvent.Create(), a, e); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// Denied records an attempt the viewer was not allowed to make. The ids it
// names are the caller's, unchecked: they go into the details, never into
// the customer link, so a denial cannot file itself under another company's
// customer.
func Denied(ctx context.Context, client *ent.Client, log *slog.Logger, e Entry) {
	e.Outcome = auditevent.OutcomeDENIED
	if e.CustomerID != 0 {
		e.Details = maps.Clone(e.Details)
		if e.Details == nil {
			e.Details = map[string]any{}
		}
		e.Details["customerId"] = e.CustomerID
		e.CustomerID = 0
	}
	alone(ctx, client, log, e)
}

// Refused records an allowed attempt that the rules turned down (a payment
// that is not possible), with outcome FAILED.
func Refused(ctx context.Context, client *ent.Client, log *slog.Logger, e Entry) {
	e.Outcome = auditevent.OutcomeFAILED
	alone(ctx, client, log, e)
}

// alone writes e in a transaction of its own: the attempt itself changed
// nothing. It is written as the system, since the act was not allowed to
// happen. Failures are logged, never returned.
func alone(ctx context.Context, client *ent.Client, log *slog.Logger, e Entry) {
	v := viewer.FromContext(ctx)
	if v == nil {
		return // anonymous callers have no company to file the event under
	}
	sys := privacy.DecisionContext(ctx, privacy.Allow)
	if err := create(sys, client.AuditEvent.Create(), Staff(v), e); err != nil {
		log.ErrorContext(ctx, "writing an audit event for a refused attempt", "action", e.Action, "outcome", e.Outcome, "err", err)
	}
}

func create(ctx context.Context, c *ent.AuditEventCreate, a Actor, e Entry) error {
	if e.Outcome == "" {
		e.Outcome = auditevent.OutcomeSUCCESS
	}
	c.SetCompanyID(a.CompanyID).
		SetActorKind(a.Kind).
		SetAction(e.Action).
		SetOutcome(e.Outcome).
		SetOriginIP(viewer.Origin(ctx)).
		SetSubjectType(e.SubjectType).
		SetDetails(e.Details)
	if a.StaffID != 0 {
		c.SetActorStaffID(a.StaffID)
	}
	if e.CustomerID != 0 {
		c.SetCustomerID(e.CustomerID)
	}
	if e.SubjectID != 0 {
		c.SetSubjectID(e.SubjectID)
	}
	return c.Exec(ctx)
}
