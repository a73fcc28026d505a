package events

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cardfile/internal/db"
	"cardfile/internal/db/dbtest"
)

// eventReads matches the statements that read the events table.
var eventReads = regexp.MustCompile("(?is)query=select .* from [`\"]events[`\"]")

// BenchmarkFanoutWithEventTable measures replicas delivering card events
// to 1,000 and 10,000 subscribers of one customer: each event is read from
// the table once per replica (reads/event/replica, counted from the
// statements each replica's database handle sends) and fanned out in
// memory. It reports p50 and p99 of the time from the start of the
// publishing transaction to a subscriber receiving the event. On
// PostgreSQL it also runs two replicas sharing the subscribers.
//
//	go test -run '^$' -bench FanoutWithEventTable ./internal/events/
//	CARDFILE_TEST_DB=postgres go test -run '^$' -bench FanoutWithEventTable ./internal/events/
func BenchmarkFanoutWithEventTable(b *testing.B) {
	dia, replicas := "sqlite", []int{1}
	if dbtest.Postgres() {
		dia, replicas = "postgres", []int{1, 2}
	}
	for _, n := range replicas {
		for _, subscribers := range []int{1000, 10000} {
			b.Run(fmt.Sprintf("%s/replicas=%d/subscribers=%d", dia, n, subscribers), func(b *testing.B) {
				benchmarkFanout(b, n, subscribers)
			})
		}
	}
}

// replica is one process's database handle, with its count of event
// reads, and its broker.
type replica struct {
	db     *db.DB
	reads  atomic.Int64
	broker Broker
}

func openReplica(b *testing.B, ctx context.Context, url, channel string) *replica {
	r := &replica{}
	d, err := db.Open(url, db.WithStatementHook(func(_ context.Context, stmt string) {
		if eventReads.MatchString(stmt) {
			r.reads.Add(1)
		}
	}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	if err := d.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	r.db, r.broker = d, NewLocal(d)
	if dbtest.Postgres() {
		p, err := NewPostgres(ctx, d, url, nil, WithChannel(channel))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(p.Close)
		<-p.Ready()
		r.broker = p
	}
	return r
}

func benchmarkFanout(b *testing.B, replicas, subscribers int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url, channel := dbtest.URL(b), testChannel()
	rs := make([]*replica, replicas)
	for i := range rs {
		rs[i] = openReplica(b, ctx, url, channel)
	}

	var published atomic.Int64 // start of the current event's transaction, unix ns
	var received sync.WaitGroup
	latencies := make([][]time.Duration, subscribers)
	for i := range subscribers {
		ch, err := rs[i%replicas].broker.Watch(ctx, Cards, 1, 1, "")
		if err != nil {
			b.Fatal(err)
		}
		go func() {
			for range ch {
				latencies[i] = append(latencies[i], time.Duration(time.Now().UnixNano()-published.Load()))
				received.Done()
			}
		}()
	}
	for _, r := range rs {
		r.reads.Store(0)
	}
	b.ResetTimer()
	for i := range b.N {
		received.Add(subscribers)
		published.Store(time.Now().UnixNano())
		err := rs[0].db.Tx(ctx, func(tx *db.Tx) error {
			return rs[0].broker.Publish(ctx, tx, Event{Topic: Cards, CompanyID: 1, CustomerID: 1, ID: i, Kind: Updated})
		})
		if err != nil {
			b.Fatal(err)
		}
		received.Wait() // one event at a time, so latencies do not queue
	}
	b.StopTimer()
	var all []time.Duration
	for _, l := range latencies {
		all = append(all, l...)
	}
	slices.Sort(all)
	var most int64
	for _, r := range rs {
		most = max(most, r.reads.Load())
	}
	b.ReportMetric(float64(most)/float64(b.N), "reads/event/replica")
	b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(0, "ns/op")
}
