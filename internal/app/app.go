// Package app assembles cardfile from its parts: the one place that decides
// which database, gateway, broker, mailer and job queue run. The binary and
// the end-to-end tests both build the server through it.
package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"cardfile/frontend"
	"cardfile/graph"
	"cardfile/internal/auth"
	"cardfile/internal/cards"
	"cardfile/internal/db"
	"cardfile/internal/events"
	"cardfile/internal/gateway"
	"cardfile/internal/gateway/clearent"
	"cardfile/internal/gateway/sandbox"
	"cardfile/internal/jobs"
	"cardfile/internal/mail"
	"cardfile/internal/payments"
	"cardfile/internal/ratelimit"
	"cardfile/internal/requests"
	"cardfile/internal/sealer"
	"cardfile/internal/server"

	"entgo.io/ent/dialect"
)

// Options choose the parts.
type Options struct {
	DatabaseURL string
	PublicURL   string
	Gateway     string // "sandbox" (default) or "clearent"
	// Clearent configures the Clearent gateway (Gateway "clearent").
	Clearent clearent.Config
	Server   server.Config
	Auth     auth.Config
	Log      *slog.Logger
	Now      func() time.Time // nil: time.Now
	// TokenKey seals gateway tokens, link tokens in jobs and outbox bodies (sealer.KeySize bytes).
	TokenKey []byte
	// StatementHook sees every statement ent sends (tests count a request's statements).
	StatementHook db.StatementHook
	// SMTPURL selects the SMTP mailer (smtp:// or smtps://); empty means the outbox.
	SMTPURL  string
	MailFrom string
	// Jobs tunes the job queue (tests shorten its intervals).
	Jobs jobs.Options
	// LinkTTL is how long card-request links work (8 hours when zero).
	LinkTTL time.Duration
	// ReconcileAfter is how old a PENDING or UNKNOWN payment must be before
	// the reconciler asks the gateway about it (payments.DefaultReconcileAfter when zero).
	ReconcileAfter time.Duration
	// PublicPerMinute limits the public card-form calls per IP (30 when zero).
	PublicPerMinute int
	// EventRetention is how long events are kept for subscribers that
	// resume with a cursor (24 hours when zero); older cursors get RESYNC.
	EventRetention time.Duration
}

// App is a running cardfile, minus the listener.
type App struct {
	DB       *db.DB
	Auth     *auth.Service
	Cards    *cards.Service
	Requests *requests.Service
	Payments *payments.Service
	Gateway  gateway.Gateway
	Sandbox  *sandbox.Gateway // nil unless the sandbox gateway runs
	Events   events.Broker
	Jobs     *jobs.Queue
	Mailer   mail.Mailer
	Outbox   *mail.Outbox // nil when SMTP is configured
	Sealer   *sealer.Sealer
	Handler  http.Handler
	// Sockets are the open websockets: serve closes them with 1001 on shutdown.
	Sockets *server.Sockets
	Log     *slog.Logger
	Now     func() time.Time
	closers []func() error
}

// New opens the database, migrates it, wires every part and starts the job queue.
func New(ctx context.Context, o Options) (_ *App, err error) {
	o = defaults(o)
	a := &App{Log: o.Log, Now: o.Now}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if a.Sealer, err = sealer.New(o.TokenKey); err != nil {
		return nil, err
	}
	if a.DB, err = db.Open(o.DatabaseURL, db.WithStatementHook(o.StatementHook)); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.DB.Close)
	if err := a.DB.Migrate(ctx); err != nil {
		return nil, err
	}
	if err := a.openEvents(ctx, o); err != nil {
		return nil, err
	}
	gatewayPages, gatewayPrefix, err := a.openGateway(o)
	if err != nil {
		return nil, err
	}
	if err := a.openMailer(o); err != nil {
		return nil, err
	}
	if a.Jobs, err = jobs.New(ctx, a.DB, o.Jobs); err != nil {
		return nil, err
	}
	o.Auth.Logins = ratelimit.For(a.DB, "login", o.Auth.LoginRate(), o.Auth.LoginRate())
	publicLimit := ratelimit.For(a.DB, "card_request_form", o.PublicPerMinute, o.PublicPerMinute)
	o.Auth.Sessions = a.Events
	a.Auth = auth.New(a.DB, o.Auth, o.Now)
	a.Cards = cards.New(a.DB, a.Gateway, a.Sealer, a.Events, a.Jobs, o.Log, o.Now)
	a.Requests = requests.New(a.DB, a.Cards, a.Gateway, a.Events, a.Jobs, a.Mailer, a.Sealer,
		publicLimit, o.Log, o.Now,
		requests.Config{PublicURL: o.PublicURL, LinkTTL: o.LinkTTL})
	a.Payments = payments.New(a.DB, a.Cards, a.Gateway, a.Sealer, a.Events, o.Log, o.Now, o.ReconcileAfter)
	if err := a.Jobs.Start(context.WithoutCancel(ctx), jobHandlers{a.Requests, a.Cards, a.Auth, a.Payments, a.DB, o.Now, o.EventRetention}); err != nil {
		return nil, fmt.Errorf("starting the job queue: %w", err)
	}
	a.closers = append(a.closers, func() error {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return a.Jobs.Stop(sctx)
	})
	resolver := &graph.Resolver{DB: a.DB, Auth: a.Auth, Cards: a.Cards, Requests: a.Requests, Payments: a.Payments,
		Gateway: a.Gateway, Events: a.Events, Log: o.Log}
	deps := server.Deps{Resolver: resolver, GatewayPages: gatewayPages, GatewayPrefix: gatewayPrefix,
		App: frontend.Handler(), Log: o.Log}
	if deps.App == nil { // built without the app (no -tags spa)
		deps.App = server.Placeholder(o.PublicURL)
	}
	if a.Outbox != nil && o.Server.Dev {
		deps.Outbox = a.Outbox
	}
	if o.Server.Sockets == nil {
		o.Server.Sockets = &server.Sockets{}
	}
	a.Sockets = o.Server.Sockets
	a.Handler = server.New(o.Server, deps)
	return a, nil
}

func defaults(o Options) Options {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	// Each unset setting takes its default on its own, so setting one
	// (say TrustProxy) never zeroes the others.
	da, ds := auth.DefaultConfig(), server.DefaultConfig()
	o.Auth.IdleTimeout = cmp.Or(o.Auth.IdleTimeout, da.IdleTimeout)
	o.Auth.AbsoluteLifetime = cmp.Or(o.Auth.AbsoluteLifetime, da.AbsoluteLifetime)
	o.Auth.MaxFailedLogins = cmp.Or(o.Auth.MaxFailedLogins, da.MaxFailedLogins)
	o.Auth.Lockout = cmp.Or(o.Auth.Lockout, da.Lockout)
	o.Server.MaxBodyBytes = cmp.Or(o.Server.MaxBodyBytes, ds.MaxBodyBytes)
	o.Server.ComplexityLimit = cmp.Or(o.Server.ComplexityLimit, ds.ComplexityLimit)
	o.Server.MaxDepth = cmp.Or(o.Server.MaxDepth, ds.MaxDepth)
	o.Server.Document = cmp.Or(o.Server.Document, ds.Document)
	o.Server.RequestTimeout = cmp.Or(o.Server.RequestTimeout, ds.RequestTimeout)
	if o.PublicPerMinute == 0 {
		o.PublicPerMinute = 30
	}
	o.EventRetention = cmp.Or(o.EventRetention, 24*time.Hour)
	if o.Jobs.Log == nil {
		o.Jobs.Log = o.Log
	}
	if db.IsPostgres(o.DatabaseURL) {
		o.Jobs.ListenURL = o.DatabaseURL
	}
	return o
}

// openEvents picks the broker: LISTEN/NOTIFY across replicas on
// PostgreSQL, in-process on SQLite (one process owns the file).
func (a *App) openEvents(ctx context.Context, o Options) error {
	if a.DB.Dialect != dialect.Postgres {
		a.Events = events.NewLocal(a.DB)
		return nil
	}
	pg, err := events.NewPostgres(context.WithoutCancel(ctx), a.DB, o.DatabaseURL, o.Log, events.WithChannel(channelFor(o.DatabaseURL)))
	if err != nil {
		return fmt.Errorf("starting the event listener: %w", err)
	}
	a.Events = pg
	a.closers = append(a.closers, func() error { pg.Close(); return nil })
	// Serve only once listening: notifications sent before LISTEN are lost.
	select {
	case <-pg.Ready():
		return nil
	case <-time.After(15 * time.Second):
		return errors.New("the event listener did not connect within 15 s")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// openGateway starts the payment gateway and returns its pages and where they live.
func (a *App) openGateway(o Options) (http.Handler, string, error) {
	framers := append([]string{"'self'"}, o.Server.AllowedOrigins...)
	switch o.Gateway {
	case "", "sandbox":
		sb, err := sandbox.New(a.DB.SQL, a.DB.Dialect, o.PublicURL, sandbox.WithClock(o.Now), sandbox.WithLogger(o.Log),
			sandbox.WithFrameAncestors(framers))
		if err != nil {
			return nil, "", fmt.Errorf("starting the sandbox gateway: %w", err)
		}
		a.Gateway, a.Sandbox = sb, sb
		return sb.Handler(), "/sandbox", nil
	case "clearent":
		c := o.Clearent
		c.PublicURL, c.Log, c.FrameAncestors = o.PublicURL, o.Log, framers
		cl, err := clearent.New(c)
		if err != nil {
			return nil, "", fmt.Errorf("configuring Clearent: %w", err)
		}
		a.Gateway = cl
		return cl.Handler(), "/gateway/clearent", nil
	default:
		return nil, "", fmt.Errorf("unknown gateway %q (want sandbox or clearent)", o.Gateway)
	}
}

func (a *App) openMailer(o Options) error {
	if o.SMTPURL == "" {
		a.Outbox = mail.NewOutbox(a.DB, a.Sealer)
		a.Mailer = a.Outbox
		return nil
	}
	m, err := mail.NewSMTP(o.SMTPURL, o.MailFrom)
	if err != nil {
		return fmt.Errorf("configuring SMTP: %w", err)
	}
	a.Mailer = m
	return nil
}

// Close stops the job queue and the event listener and closes the database.
func (a *App) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}

// channelFor names the NOTIFY channel for a database URL. NOTIFY is per
// database, so deployments (and tests) that share one but keep to their own
// schema (search_path) get a channel of their own.
func channelFor(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return events.DefaultChannel
	}
	schema, _, _ := strings.Cut(u.Query().Get("search_path"), ",")
	schema = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return -1
	}, strings.ToLower(strings.TrimSpace(schema)))
	if schema == "" || schema == "public" {
		return events.DefaultChannel
	}
	return (events.DefaultChannel + "_" + schema)[:min(63, len(events.DefaultChannel)+1+len(schema))]
}

// jobHandlers is the work the job queue does: card-request emails and
// expiry, retried gateway deletions, purging dead sessions and old events.
type jobHandlers struct {
	*requests.Service
	cards          *cards.Service
	auth           *auth.Service
	payments       *payments.Service
	db             *db.DB
	now            func() time.Time
	eventRetention time.Duration
}

func (h jobHandlers) ReconcilePayments(ctx context.Context) (int, error) {
	return h.payments.Reconcile(ctx)
}

func (h jobHandlers) PruneEvents(ctx context.Context) (int, error) {
	return events.Prune(ctx, h.db, h.now().Add(-h.eventRetention))
}

func (h jobHandlers) PurgeExpired(ctx context.Context) (int, error) { return h.auth.PurgeExpired(ctx) }

func (h jobHandlers) DeleteGatewayCard(ctx context.Context, sealedToken string) error {
	return h.cards.DeleteGatewayCard(ctx, sealedToken)
}
