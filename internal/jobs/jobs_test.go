package jobs_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"cardfile/internal/app/apptest"
	"cardfile/internal/db"
	"cardfile/internal/db/dbtest"
	"cardfile/internal/jobs"

	"github.com/riverqueue/river/rivertype"
)

// recorder counts the work the queue hands out; its gateway fails twice.
type recorder struct {
	mu       sync.Mutex
	deleted  []string
	failures int
}

func (r *recorder) Deliver(context.Context, int, string, bool) error { return nil }
func (r *recorder) ExpireOverdue(context.Context) (int, error)       { return 0, nil }
func (r *recorder) PurgeExpired(context.Context) (int, error)        { return 0, nil }
func (r *recorder) ReconcilePayments(context.Context) (int, error)   { return 0, nil }
func (r *recorder) PruneEvents(context.Context) (int, error)         { return 0, nil }
func (r *recorder) DeleteGatewayCard(_ context.Context, sealed string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failures < 2 {
		r.failures++
		return errors.New("gateway unavailable")
	}
	r.deleted = append(r.deleted, sealed)
	return nil
}

type quick struct{}

func (quick) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(20 * time.Millisecond) }

// A queued gateway deletion runs, is retried while it fails, and succeeds once.
func TestGatewayDeletionRunsUntilItSucceeds(t *testing.T) {
	d := dbtest.Open(t)
	q, err := jobs.New(context.Background(), d, jobs.Options{PollInterval: 10 * time.Millisecond, RetryPolicy: quick{}})
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	if err := q.Start(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Stop(context.Background()) })
	if err := q.RetryGatewayCardDeletion(context.Background(), "v1:sealed"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		done, failures := len(r.deleted), r.failures
		r.mu.Unlock()
		if done == 1 && failures == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %d deletions, %d failures; want 1 after 2", done, failures)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A wrong extra deletion could only come from the job running again:
	// wait until it is finished for good, not for a while.
	for !apptest.JobsFinished(t, d.SQL, jobs.DeleteGatewayCard{}.Kind()) {
		if time.Now().After(deadline) {
			t.Fatal("the deletion job did not finish within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.deleted) != 1 {
		t.Fatalf("deleted %d times", len(r.deleted))
	}
}

// deliveries records the emails the queue hands out.
type deliveries struct {
	recorder
	got chan int
}

func (d *deliveries) Deliver(_ context.Context, id int, _ string, _ bool) error {
	d.got <- id
	return nil
}

// On PostgreSQL River listens for inserts: a job inserted in a transaction
// is worked on commit, not at the next poll (here, an hour away).
func TestJobsArePickedUpOnInsertOnPostgres(t *testing.T) {
	if !dbtest.Postgres() {
		t.Skip("SQLite has no LISTEN: River polls there")
	}
	url := dbtest.URL(t)
	d, err := db.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	q, err := jobs.New(context.Background(), d, jobs.Options{PollInterval: time.Hour, ListenURL: url})
	if err != nil {
		t.Fatal(err)
	}
	r := &deliveries{got: make(chan int, 1)}
	if err := q.Start(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Stop(context.Background()) })
	// River's producer fetches once as it starts, so the first job may be
	// found by that fetch; once it has been worked, that fetch is past, and
	// only the insert's notification can bring the second.
	for _, id := range []int{41, 42} {
		if err := d.Tx(context.Background(), func(tx *db.Tx) error {
			return q.EnqueueCardRequestEmail(context.Background(), tx, id, "v1:sealed")
		}); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-r.got:
			if got != id {
				t.Fatalf("delivered request %d, want %d", got, id)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("job %d was not picked up on insert (the next poll is an hour away)", id)
		}
	}
}
