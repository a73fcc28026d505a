// Package jobs runs cardfile's background work on River, in the same
// database as everything else: jobs are inserted in the transaction that
// needs them, so a rolled-back change never sends an email.
package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"cardfile/internal/db"
	"cardfile/internal/mail"

	"entgo.io/ent/dialect"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
)

// Handlers do the work: the requests service and the cards service.
type Handlers interface {
	Deliver(ctx context.Context, requestID int, sealedToken string, final bool) error
	ExpireOverdue(ctx context.Context) (int, error)
	DeleteGatewayCard(ctx context.Context, sealedToken string) error
	PurgeExpired(ctx context.Context) (int, error)
	ReconcilePayments(ctx context.Context) (int, error)
	PruneEvents(ctx context.Context) (int, error)
}

// Options tune the queue; zero values are production defaults.
type Options struct {
	// PollInterval is how often idle workers look for new jobs (1 s).
	PollInterval time.Duration
	// ExpiryInterval is how often overdue card requests are expired (1 min).
	ExpiryInterval time.Duration
	// ReconcileInterval is how often unsettled payments are reconciled with
	// the gateway (1 min); a pass also runs at start.
	ReconcileInterval time.Duration
	// PruneInterval is how often events past their retention are deleted (1 h).
	PruneInterval time.Duration
	// RetryPolicy decides when failed jobs run again (River's exponential backoff).
	RetryPolicy river.ClientRetryPolicy
	// EmailAttempts is how often an email is tried before it counts as failed (10).
	EmailAttempts int
	// ListenURL is the PostgreSQL URL River listens on, so workers pick up a
	// job when it is inserted instead of at the next poll. Jobs are still
	// inserted through database/sql, in the transaction of the change.
	ListenURL string
	Log       *slog.Logger
}

// Queue inserts and works jobs.
type Queue struct {
	client   *river.Client[*sql.Tx]
	listen   *pgxpool.Pool // nil unless River listens (PostgreSQL)
	handlers Handlers
	attempts int
}

// SendCardRequestEmail emails a card request's link. The link token is
// sealed: the job table never holds it in the clear.
type SendCardRequestEmail struct {
	RequestID   int    `json:"request_id"`
	SealedToken string `json:"sealed_token"`
}

// Kind names the job.
func (SendCardRequestEmail) Kind() string { return "card_request_email" }

// DeleteGatewayCard deletes a stored card at the gateway after a first try
// failed. The token is sealed.
type DeleteGatewayCard struct {
	SealedToken string `json:"sealed_token"`
}

// Kind names the job.
func (DeleteGatewayCard) Kind() string { return "gateway_card_delete" }

// PurgeSessions deletes staff sessions past their lifetime.
type PurgeSessions struct{}

// Kind names the job.
func (PurgeSessions) Kind() string { return "session_purge" }

// ReconcilePayments settles payments left PENDING or UNKNOWN from the
// gateway's own records.
type ReconcilePayments struct{}

// Kind names the job.
func (ReconcilePayments) Kind() string { return "payment_reconcile" }

// PruneEvents deletes events past their retention window.
type PruneEvents struct{}

// Kind names the job.
func (PruneEvents) Kind() string { return "event_prune" }

// ExpireCardRequests marks overdue card requests EXPIRED.
type ExpireCardRequests struct{}

// Kind names the job.
func (ExpireCardRequests) Kind() string { return "card_request_expiry" }

// PeriodicKinds are the kinds of the jobs the queue inserts on its own, on a schedule.
func PeriodicKinds() []string {
	return []string{ExpireCardRequests{}.Kind(), PurgeSessions{}.Kind(), ReconcilePayments{}.Kind(), PruneEvents{}.Kind()}
}

// New migrates River's tables and prepares the queue; Start runs it.
func New(ctx context.Context, d *db.DB, o Options) (*Queue, error) {
	if o.PollInterval == 0 {
		o.PollInterval = time.Second
	}
	if o.ExpiryInterval == 0 {
		o.ExpiryInterval = time.Minute
	}
	if o.ReconcileInterval == 0 {
		o.ReconcileInterval = time.Minute
	}
	if o.PruneInterval == 0 {
		o.PruneInterval = time.Hour
	}
	if o.EmailAttempts == 0 {
		o.EmailAttempts = 10
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	q := &Queue{attempts: o.EmailAttempts}
	var driver riverdriver.Driver[*sql.Tx]
	switch {
	case d.Dialect == dialect.Postgres && o.ListenURL != "":
		// River hijacks one connection of this pool for LISTEN, for good.
		cfg, err := pgxpool.ParseConfig(o.ListenURL)
		if err != nil {
			return nil, fmt.Errorf("configuring the job queue's listener: %w", err)
		}
		cfg.MinConns, cfg.MaxConns = 0, 1
		if q.listen, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
			return nil, fmt.Errorf("connecting the job queue's listener: %w", err)
		}
		driver = riverdatabasesql.NewWithPgxListener(d.SQL, q.listen)
	case d.Dialect == dialect.Postgres:
		driver = riverdatabasesql.New(d.SQL)
	default:
		driver = riversqlite.New(d.SQL)
	}
	if err := migrate(ctx, driver, o.Log); err != nil {
		q.closeListener()
		return nil, err
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &emailWorker{q: q})
	river.AddWorker(workers, &expiryWorker{q: q})
	river.AddWorker(workers, &gatewayDeleteWorker{q: q})
	river.AddWorker(workers, &sessionPurgeWorker{q: q})
	river.AddWorker(workers, &reconcileWorker{q: q})
	river.AddWorker(workers, &eventPruneWorker{q: q})
	var err error
	q.client, err = river.NewClient(driver, &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}},
		Workers:           workers,
		FetchPollInterval: o.PollInterval,
		FetchCooldown:     min(o.PollInterval, 100*time.Millisecond),
		RetryPolicy:       o.RetryPolicy,
		JobTimeout:        time.Minute,
		Logger:            o.Log,
		PeriodicJobs: []*river.PeriodicJob{river.NewPeriodicJob(
			river.PeriodicInterval(o.ExpiryInterval),
			func() (river.JobArgs, *river.InsertOpts) { return ExpireCardRequests{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true},
		), river.NewPeriodicJob(
			river.PeriodicInterval(time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return PurgeSessions{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true},
		), river.NewPeriodicJob(
			river.PeriodicInterval(o.ReconcileInterval),
			// One pass at a time, never retried: the next period is the retry.
			func() (river.JobArgs, *river.InsertOpts) {
				return ReconcilePayments{}, &river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByState: []rivertype.JobState{
					rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled}}}
			},
			&river.PeriodicJobOpts{RunOnStart: true},
		), river.NewPeriodicJob(
			river.PeriodicInterval(o.PruneInterval),
			func() (river.JobArgs, *river.InsertOpts) { return PruneEvents{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true},
		)},
	})
	if err != nil {
		q.closeListener()
		return nil, fmt.Errorf("creating the job queue: %w", err)
	}
	return q, nil
}

func migrate(ctx context.Context, driver riverdriver.Driver[*sql.Tx], log *slog.Logger) error {
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: log})
	if err != nil {
		return fmt.Errorf("preparing job queue migrations: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrating the job queue: %w", err)
	}
	return nil
}

func (q *Queue) closeListener() {
	if q.listen != nil {
		q.listen.Close()
	}
}

// Start works jobs with h until Stop.
func (q *Queue) Start(ctx context.Context, h Handlers) error {
	q.handlers = h
	return q.client.Start(ctx)
}

// Stop lets running jobs finish (until ctx ends) and stops.
func (q *Queue) Stop(ctx context.Context) error {
	defer q.closeListener()
	return q.client.Stop(ctx)
}

// EnqueueCardRequestEmail queues a request's email inside tx.
func (q *Queue) EnqueueCardRequestEmail(ctx context.Context, tx *db.Tx, requestID int, sealedToken string) error {
	_, err := q.client.InsertTx(ctx, tx.SQL, SendCardRequestEmail{RequestID: requestID, SealedToken: sealedToken},
		&river.InsertOpts{MaxAttempts: q.attempts})
	return err
}

// RetryGatewayCardDeletion queues deleting a stored card at the gateway.
func (q *Queue) RetryGatewayCardDeletion(ctx context.Context, sealedToken string) error {
	_, err := q.client.Insert(ctx, DeleteGatewayCard{SealedToken: sealedToken}, &river.InsertOpts{MaxAttempts: 25})
	return err
}

type gatewayDeleteWorker struct {
	river.WorkerDefaults[DeleteGatewayCard]
	q *Queue
}

func (w *gatewayDeleteWorker) Work(ctx context.Context, job *river.Job[DeleteGatewayCard]) error {
	return w.q.handlers.DeleteGatewayCard(ctx, job.Args.SealedToken)
}

type emailWorker struct {
	river.WorkerDefaults[SendCardRequestEmail]
	q *Queue
}

func (w *emailWorker) Work(ctx context.Context, job *river.Job[SendCardRequestEmail]) error {
	err := w.q.handlers.Deliver(ctx, job.Args.RequestID, job.Args.SealedToken, job.Attempt >= job.MaxAttempts)
	if err != nil && mail.IsPermanent(err) {
		return river.JobCancel(err) // a refused address will not be accepted later
	}
	return err
}

type expiryWorker struct {
	river.WorkerDefaults[ExpireCardRequests]
	q *Queue
}

func (w *expiryWorker) Work(ctx context.Context, _ *river.Job[ExpireCardRequests]) error {
	_, err := w.q.handlers.ExpireOverdue(ctx)
	return err
}

type sessionPurgeWorker struct {
	river.WorkerDefaults[PurgeSessions]
	q *Queue
}

func (w *sessionPurgeWorker) Work(ctx context.Context, _ *river.Job[PurgeSessions]) error {
	_, err := w.q.handlers.PurgeExpired(ctx)
	return err
}

type reconcileWorker struct {
	river.WorkerDefaults[ReconcilePayments]
	q *Queue
}

// Timeout lets a pass ask the gateway about a full batch, one at a time.
func (w *reconcileWorker) Timeout(*river.Job[ReconcilePayments]) time.Duration {
	return 10 * time.Minute
}

func (w *reconcileWorker) Work(ctx context.Context, _ *river.Job[ReconcilePayments]) error {
	_, err := w.q.handlers.ReconcilePayments(ctx)
	return err
}

type eventPruneWorker struct {
	river.WorkerDefaults[PruneEvents]
	q *Queue
}

func (w *eventPruneWorker) Work(ctx context.Context, _ *river.Job[PruneEvents]) error {
	_, err := w.q.handlers.PruneEvents(ctx)
	return err
}
