// Package audit writes the audit trail: every card change in the same
// transaction as the change, and every denied attempt on its own.
package audit

import (
	"context"
	"fmt"
	"log/slog"

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

// Record writes e inside tx as the viewer's act.
func Record(ctx context.Context, tx *db.Tx, e Entry) error {
	v := viewer.FromContext(ctx)
	if v == nil {
		return fmt.Errorf("audit %s: no viewer", e.Action)
	}
	if err := create(ctx, tx.AuditEvent.Create(), v, e); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// Denied records a refused attempt. The attempt itself changed nothing, so
// this write stands alone; it is made as the system, since the viewer was
// not allowed to act. Failures are logged, never returned.
func Denied(ctx context.Context, client *ent.Client, log *slog.Logger, e Entry) {
	v := viewer.FromContext(ctx)
	if v == nil {
		return // anonymous callers have no company to file the event under
	}
	e.Outcome = auditevent.OutcomeDENIED
	sys := privacy.DecisionContext(ctx, privacy.Allow)
	if err := create(sys, client.AuditEvent.Create(), v, e); err != nil {
		log.ErrorContext(ctx, "writing denied-attempt audit event", "action", e.Action, "err", err)
	}
}

func create(ctx context.Context, c *ent.AuditEventCreate, v *viewer.Staff, e Entry) error {
	if e.Outcome == "" {
		e.Outcome = auditevent.OutcomeSUCCESS
	}
	c.SetCompanyID(v.CompanyID).
		SetActorKind(auditevent.ActorKindSTAFF).
		SetActorStaffID(v.StaffID).
		SetAction(e.Action).
		SetOutcome(e.Outcome).
		SetOriginIP(viewer.Origin(ctx)).
		SetSubjectType(e.SubjectType).
		SetDetails(e.Details)
	if e.CustomerID != 0 {
		c.SetCustomerID(e.CustomerID)
	}
	if e.SubjectID != 0 {
		c.SetSubjectID(e.SubjectID)
	}
	return c.Exec(ctx)
}
