// Package requests holds card requests: staff email a customer a
// single-use link, valid for 8 hours, to a page where the customer enters a
// card themselves. Only the SHA-256 of a link's token is stored; the raw
// token lives in the emailed link (and, sealed, in the email job until it
// runs).
package requests

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"cardfile/ent"
	"cardfile/ent/cardrequest"
	"cardfile/ent/creditcard"
	"cardfile/ent/privacy"
	"cardfile/internal/apperr"
	"cardfile/internal/audit"
	"cardfile/internal/auth"
	"cardfile/internal/cards"
	"cardfile/internal/db"
	"cardfile/internal/eligibility"
	"cardfile/internal/events"
	"cardfile/internal/gateway"
	"cardfile/internal/mail"
	"cardfile/internal/ratelimit"
	"cardfile/internal/sealer"
	"cardfile/internal/secret"
	"cardfile/internal/textguard"
	"cardfile/internal/viewer"
)

// DefaultLinkTTL is how long a link works: the seed's 8 hours.
const DefaultLinkTTL = 8 * time.Hour

// linkPurpose binds sealed link tokens (in email jobs) to their use.
const linkPurpose = "card_request.link"

// Enqueuer queues the email for a request inside the request's transaction,
// so a rolled-back request never sends mail.
type Enqueuer interface {
	EnqueueCardRequestEmail(ctx context.Context, tx *db.Tx, requestID int, sealedToken string) error
}

// Config is what card requests need to know.
type Config struct {
	// PublicURL is the base of the emailed link; never taken from a request.
	PublicURL string
	// LinkTTL is how long a link works (DefaultLinkTTL when zero).
	LinkTTL time.Duration
}

// Service runs card requests.
type Service struct {
	db      *db.DB
	cards   *cards.Service
	gateway gateway.Gateway
	events  events.Broker
	jobs    Enqueuer
	mailer  mail.Mailer
	sealer  *sealer.Sealer
	limiter ratelimit.Limiter
	log     *slog.Logger
	now     func() time.Time
	cfg     Config
}

// New returns a Service. now may be nil (time.Now).
func New(d *db.DB, c *cards.Service, gw gateway.Gateway, b events.Broker, jobs Enqueuer, m mail.Mailer, s *sealer.Sealer,
	limiter ratelimit.Limiter, log *slog.Logger, now func() time.Time, cfg Config) *Service {
	if now == nil {
		now = time.Now
	}
	if cfg.LinkTTL == 0 {
		cfg.LinkTTL = DefaultLinkTTL
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &Service{db: d, cards: c, gateway: gw, events: b, jobs: jobs, mailer: m, sealer: s, limiter: limiter, log: log, now: now, cfg: cfg}
}

// Link is the URL a token opens.
func (s *Service) Link(token string) string { return s.cfg.PublicURL + "/card-request/" + token }

// LinkTTL is how long links work.
func (s *Service) LinkTTL() time.Duration { return s.cfg.LinkTTL }

// Request emails the customer a new link. The request row, its audit event
// and its email job are written in one transaction.
func (s *Service) Request(ctx context.Context, customerID int, email string) (*ent.CardRequest, error) {
	entry := audit.Entry{Action: "card_request.send", CustomerID: customerID, SubjectType: "Customer", SubjectID: customerID}
	if err := auth.Authorize(ctx, s.db.Client, s.log, entry); err != nil {
		return nil, err
	}
	addr, err := textguard.Email("email", email)
	if err != nil {
		return nil, err
	}
	var req *ent.CardRequest
	err = s.db.Tx(ctx, func(tx *db.Tx) error {
		cust, err := s.cards.LockCustomer(ctx, tx, customerID)
		if err != nil {
			return err
		}
		if err := s.eligible(ctx, tx, cust); err != nil {
			return err
		}
		if req, err = s.create(ctx, tx, cust, addr, nil); err != nil {
			return err
		}
		entry.SubjectType, entry.SubjectID = "CardRequest", req.ID
		entry.Details = map[string]any{"email": addr, "expiresAt": req.ExpiresAt.Format(time.RFC3339)}
		return audit.Record(ctx, tx, entry)
	})
	if err != nil {
		return nil, db.NotFound(err, "customer")
	}
	return req, nil
}

// Cancel revokes a request's link. Only the newest request of a chain of
// resends can be cancelled: the older ones no longer have a working link.
func (s *Service) Cancel(ctx context.Context, id int) (*ent.CardRequest, error) {
	entry := audit.Entry{Action: "card_request.cancel", SubjectType: "CardRequest", SubjectID: id}
	if err := auth.Authorize(ctx, s.db.Client, s.log, entry); err != nil {
		return nil, err
	}
	var req *ent.CardRequest
	err := s.db.Tx(ctx, func(tx *db.Tx) (err error) {
		if _, _, err = s.lockNewest(ctx, tx, id); err != nil {
			return err
		}
		if req, err = s.revoke(ctx, tx, id); err != nil {
			return err
		}
		entry.CustomerID, entry.Details = req.CustomerID, map[string]any{"email": req.Email}
		return audit.Record(ctx, tx, entry)
	})
	if err != nil {
		return nil, db.NotFound(err, "card request")
	}
	return req, nil
}

// Resend revokes a request's link and sends a new one, with a new window.
// The new request replaces the old one, and only the newest request of such
// a chain can be resent, so a chain never has more than one working link.
func (s *Service) Resend(ctx context.Context, id int) (*ent.CardRequest, error) {
	entry := audit.Entry{Action: "card_request.resend", SubjectType: "CardRequest", SubjectID: id}
	if err := auth.Authorize(ctx, s.db.Client, s.log, entry); err != nil {
		return nil, err
	}
	var fresh *ent.CardRequest
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		old, cust, err := s.lockNewest(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := s.eligible(ctx, tx, cust); err != nil {
			return err
		}
		if old.Status == cardrequest.StatusCOMPLETED {
			return apperr.New(apperr.Conflict, "the customer already entered a card with this request")
		}
		if open(old.Status) {
			if old, err = s.revoke(ctx, tx, id); err != nil {
				return err
			}
		}
		if fresh, err = s.create(ctx, tx, cust, old.Email, &old.ID); err != nil {
			return err
		}
		entry.CustomerID = cust.ID
		entry.Details = map[string]any{"email": old.Email, "replacement": fresh.ID, "expiresAt": fresh.ExpiresAt.Format(time.RFC3339)}
		return audit.Record(ctx, tx, entry)
	})
	if err != nil {
		return nil, db.NotFound(err, "card request")
	}
	return fresh, nil
}

// lockNewest locks the customer of request id (customer first, as every card
// and request change does) and then reads the request, so what it returns is
// current: a concurrent resend or cancel has either committed or waits. A
// request that a resend has replaced answers CONFLICT.
func (s *Service) lockNewest(ctx context.Context, tx *db.Tx, id int) (*ent.CardRequest, *ent.Customer, error) {
	req, err := tx.CardRequest.Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	cust, err := s.cards.LockCustomer(ctx, tx, req.CustomerID)
	if err != nil {
		return nil, nil, err
	}
	if req, err = tx.CardRequest.Get(ctx, id); err != nil {
		return nil, nil, err
	}
	replaced, err := tx.CardRequest.Query().
		Where(cardrequest.CustomerID(cust.ID), cardrequest.ReplacesID(id)).Exist(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("checking for a newer request: %w", err)
	}
	if replaced {
		return nil, nil, apperr.New(apperr.Conflict, "this request was replaced by a newer link; resend or cancel the newest request instead")
	}
	return req, cust, nil
}

// create writes a new request with a fresh token and queues its email.
func (s *Service) create(ctx context.Context, tx *db.Tx, cust *ent.Customer, email string, replaces *int) (*ent.CardRequest, error) {
	token, hash := secret.New("")
	c := tx.CardRequest.Create().
		SetCompanyID(cust.CompanyID).SetCustomerID(cust.ID).SetEmail(email).
		SetTokenHash(hash).SetExpiresAt(s.now().Add(s.cfg.LinkTTL).UTC()).
		SetNillableReplacesID(replaces)
	if v := viewer.FromContext(ctx); v != nil {
		c.SetRequestedByID(v.StaffID)
	}
	req, err := c.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("saving card request: %w", err)
	}
	sealed, err := s.sealer.Seal(token, linkPurpose)
	if err != nil {
		return nil, err
	}
	if err := s.jobs.EnqueueCardRequestEmail(ctx, tx, req.ID, sealed); err != nil {
		return nil, fmt.Errorf("queueing the email: %w", err)
	}
	return req, s.publish(ctx, tx, req)
}

// revoke cancels an open request. The status check is part of the update,
// so a request completed or cancelled meanwhile is never overwritten.
func (s *Service) revoke(ctx context.Context, tx *db.Tx, id int) (*ent.CardRequest, error) {
	n, err := tx.CardRequest.Update().Where(cardrequest.ID(id), cardrequest.StatusIn(cardrequest.StatusPENDING, cardrequest.StatusOPENED)).
		SetStatus(cardrequest.StatusCANCELLED).SetCancelledAt(s.now().UTC()).Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("cancelling card request: %w", err)
	}
	req, err := tx.CardRequest.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, apperr.New(apperr.Conflict, "the request is already %s", strings.ToLower(string(req.Status)))
	}
	return req, s.publish(ctx, tx, req)
}

// eligible refuses requests for customers who could not pay by card anyway.
func (s *Service) eligible(ctx context.Context, tx *db.Tx, cust *ent.Customer) error {
	co, err := tx.Company.Get(ctx, cust.CompanyID)
	if err != nil {
		return err
	}
	return eligibility.Customer(co, cust).Err()
}

// Form is what the customer's card page shows.
type Form struct {
	CompanyName     string
	CustomerName    string
	Email           string
	ExpiresAt       time.Time
	HostedFieldsURL string
	Status          cardrequest.Status
}

// errUnavailable is the one answer for every unusable link: unknown,
// expired, used and cancelled alike.
func errUnavailable() error {
	return apperr.New(apperr.LinkUnavailable, "This link is no longer valid. Ask your supplier for a new one.")
}

// Form returns the card page for a link and marks the request OPENED.
// The token is the only authority: no staff session is involved.
func (s *Service) Form(ctx context.Context, token string) (*Form, error) {
	if err := s.limit(ctx); err != nil {
		return nil, err
	}
	sys := privacy.DecisionContext(ctx, privacy.Allow)
	var form *Form
	err := s.db.Tx(sys, func(tx *db.Tx) error {
		req, err := s.usable(sys, tx.Client, token)
		if err != nil {
			return err
		}
		cust := req.Edges.Customer
		if req.Status == cardrequest.StatusPENDING {
			// Only a still-PENDING request opens: a cancel that got in first wins.
			n, err := tx.CardRequest.Update().Where(cardrequest.ID(req.ID), cardrequest.StatusEQ(cardrequest.StatusPENDING)).
				SetStatus(cardrequest.StatusOPENED).SetOpenedAt(s.now().UTC()).Save(sys)
			if err != nil {
				return err
			}
			if req, err = tx.CardRequest.Get(sys, req.ID); err != nil {
				return err
			}
			if !open(req.Status) {
				return errUnavailable()
			}
			if n > 0 {
				if err := s.publish(sys, tx, req); err != nil {
					return err
				}
			}
		}
		form = s.form(req, cust)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return form, nil
}

// Submit saves the customer's card from a payment token and completes the
// request. The link works once, even under concurrent submissions.
func (s *Service) Submit(ctx context.Context, token, paymentToken string) (*Form, error) {
	if err := s.limit(ctx); err != nil {
		return nil, err
	}
	sys := privacy.DecisionContext(ctx, privacy.Allow)
	// An unusable link is refused before the payment token is spent.
	req, err := s.usable(sys, s.db.Client, token)
	if err != nil {
		return nil, err
	}
	actor := audit.Customer(req.CompanyID)
	var form *Form
	_, err = s.cards.SaveNew(sys, cards.NewCard{
		AddInput: cards.AddInput{CustomerID: req.CustomerID, PaymentToken: paymentToken,
			Source: creditcard.SourceCUSTOMER_FORM, AllowDuplicate: true, Description: "Entered by the customer"},
		Actor: actor,
		// Under the customer lock SaveNew took first, claim the request: of
		// concurrent submissions only one still finds it open.
		Saved: func(ctx context.Context, tx *db.Tx, card *ent.CreditCard) error {
			req, err := s.usable(ctx, tx.Client, token)
			if err != nil {
				return err
			}
			page := req.Edges.Customer // with its company, for the form
			n, err := tx.CardRequest.Update().
				Where(cardrequest.ID(req.ID), cardrequest.StatusIn(cardrequest.StatusPENDING, cardrequest.StatusOPENED)).
				SetStatus(cardrequest.StatusCOMPLETED).SetCompletedAt(s.now().UTC()).SetCreditCardID(card.ID).Save(ctx)
			if err != nil {
				return err
			}
			if n == 0 {
				return errUnavailable()
			}
			if req, err = tx.CardRequest.Get(ctx, req.ID); err != nil {
				return err
			}
			form = s.form(req, page)
			if err := audit.RecordAs(ctx, tx, actor, audit.Entry{
				Action: "card_request.complete", CustomerID: req.CustomerID, SubjectType: "CardRequest", SubjectID: req.ID,
				Details: map[string]any{"card": cards.Display(card), "email": req.Email},
			}); err != nil {
				return err
			}
			return s.publish(ctx, tx, req)
		},
	})
	if err != nil {
		return nil, err
	}
	return form, nil
}

// usable finds the request for a link token, or LINK_UNAVAILABLE.
func (s *Service) usable(ctx context.Context, client *ent.Client, token string) (*ent.CardRequest, error) {
	if len(token) < 20 || len(token) > 100 {
		return nil, errUnavailable()
	}
	req, err := client.CardRequest.Query().Where(cardrequest.TokenHash(secret.Hash(token))).
		WithCustomer(func(q *ent.CustomerQuery) { q.WithCompany() }).Only(ctx)
	if err != nil {
		if ent.IsNotFound(err) {
			return nil, errUnavailable()
		}
		return nil, err
	}
	if !open(req.Status) || !s.now().Before(req.ExpiresAt) {
		return nil, errUnavailable()
	}
	if cust := req.Edges.Customer; !eligibility.Customer(cust.Edges.Company, cust).Allowed {
		return nil, errUnavailable()
	}
	return req, nil
}

// form is the page for req; cust is req's customer with its company loaded.
func (s *Service) form(req *ent.CardRequest, cust *ent.Customer) *Form {
	return &Form{
		CompanyName:     cust.Edges.Company.Name,
		CustomerName:    cust.Name,
		Email:           req.Email,
		ExpiresAt:       req.ExpiresAt,
		HostedFieldsURL: s.gateway.HostedFieldsURL(),
		Status:          req.Status,
	}
}

func (s *Service) limit(ctx context.Context) error {
	if s.limiter == nil {
		return nil
	}
	if ok, err := s.limiter.Allow(ctx, viewer.Origin(ctx)); err != nil {
		return err
	} else if !ok {
		return apperr.New(apperr.RateLimited, "too many attempts; wait a minute and try again")
	}
	return nil
}

func (s *Service) publish(ctx context.Context, tx *db.Tx, req *ent.CardRequest) error {
	return s.events.Publish(ctx, tx, events.Event{
		Topic: events.Requests, CompanyID: req.CompanyID, CustomerID: req.CustomerID, ID: req.ID, Kind: events.Kind(req.Status),
	})
}

func open(st cardrequest.Status) bool {
	return st == cardrequest.StatusPENDING || st == cardrequest.StatusOPENED
}
