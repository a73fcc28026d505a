package jobs_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"cardfile/internal/app/apptest"
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
