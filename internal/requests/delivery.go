package requests

import (
	"context"
	"fmt"

	"cardfile/ent"
	"cardfile/ent/cardrequest"
	"cardfile/ent/predicate"
	"cardfile/ent/privacy"
	"cardfile/internal/db"
	"cardfile/internal/mail"
)

// Deliver sends a request's email; the job queue calls it and retries it
// when it fails. A request cancelled, replaced or expired before its email
// went out sends nothing. final says this is the last attempt: a failure
// then marks the delivery FAILED.
func (s *Service) Deliver(ctx context.Context, requestID int, sealedToken string, final bool) error {
	sys := privacy.DecisionContext(ctx, privacy.Allow)
	req, err := s.db.CardRequest.Query().Where(cardrequest.ID(requestID)).
		WithCustomer(func(q *ent.CustomerQuery) { q.WithCompany() }).Only(sys)
	if err != nil {
		return fmt.Errorf("loading card request %d: %w", requestID, err)
	}
	if !open(req.Status) || !s.now().Before(req.ExpiresAt) {
		s.log.InfoContext(ctx, "card request no longer open; email not sent", "request_id", req.ID, "status", req.Status)
		return nil
	}
	token, err := s.sealer.Open(sealedToken, linkPurpose)
	if err != nil {
		return fmt.Errorf("opening the link token of request %d: %w", req.ID, err)
	}
	cust := req.Edges.Customer
	msg := mail.CardRequestMessage(mail.CardRequestData{
		To: req.Email, CompanyName: cust.Edges.Company.Name, CustomerName: cust.Name,
		Link: s.Link(token), ExpiresAt: req.ExpiresAt, ValidFor: s.cfg.LinkTTL,
	})
	sendErr := s.mailer.Send(ctx, msg)
	err = s.db.Tx(sys, func(tx *db.Tx) error {
		u := tx.CardRequest.UpdateOneID(req.ID).AddDeliveryAttempts(1)
		switch {
		case sendErr == nil:
			u.SetDeliveryStatus(cardrequest.DeliveryStatusSENT).SetSentAt(s.now().UTC())
		case final || mail.IsPermanent(sendErr):
			u.SetDeliveryStatus(cardrequest.DeliveryStatusFAILED)
		}
		updated, err := u.Save(sys)
		if err != nil {
			return err
		}
		return s.publish(sys, tx, updated)
	})
	if sendErr != nil {
		s.log.WarnContext(ctx, "card request email failed", "request_id", req.ID, "final", final, "err", sendErr)
		return sendErr
	}
	if err != nil {
		// Sent, but not recorded: report it without retrying the send.
		s.log.ErrorContext(ctx, "recording a sent card request email", "request_id", req.ID, "err", err)
	}
	return nil
}

// ExpireOverdue marks open requests whose links have run out EXPIRED and
// tells open screens. The job queue runs it periodically. One conditional
// update does the work, so a request completed or cancelled meanwhile keeps
// its status.
func (s *Service) ExpireOverdue(ctx context.Context) (int, error) {
	sys := privacy.DecisionContext(ctx, privacy.Allow)
	overdue := []predicate.CardRequest{
		cardrequest.StatusIn(cardrequest.StatusPENDING, cardrequest.StatusOPENED), cardrequest.ExpiresAtLTE(s.now()),
	}
	n := 0
	err := s.db.Tx(sys, func(tx *db.Tx) error {
		ids, err := tx.CardRequest.Query().Where(overdue...).Limit(500).IDs(sys)
		if err != nil || len(ids) == 0 {
			return err
		}
		if n, err = tx.CardRequest.Update().Where(append(overdue, cardrequest.IDIn(ids...))...).
			SetStatus(cardrequest.StatusEXPIRED).Save(sys); err != nil {
			return err
		}
		expired, err := tx.CardRequest.Query().Where(cardrequest.IDIn(ids...), cardrequest.StatusEQ(cardrequest.StatusEXPIRED)).All(sys)
		if err != nil {
			return err
		}
		for _, req := range expired {
			if err := s.publish(sys, tx, req); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}
