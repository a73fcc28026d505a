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

// BenchmarkFanoutWithEventTable measures one replica delivering card events
// to 1,000 and 10,000 subscribers of one customer: each event is read from the table
// once (reads/event, counted from the statements the database sees) and
// fanned out in memory. It reports p50 and p99 of the time from the start
// of the publishing transaction to a subscriber receiving the event.
//
//	go test -run '^$' -bench FanoutWithEventTable ./internal/events/
//	CARDFILE_TEST_DB=postgres go test -run '^$' -bench FanoutWithEventTable ./internal/events/
func BenchmarkFanoutWithEventTable(b *testing.B) {
	dia := map[bool]string{true: "postgres", false: "sqlite"}[dbtest.Postgres()]
	for _, subscribers := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("%s/%d", dia, subscribers), func(b *testing.B) {
			benchmarkFanout(b, subscribers)
		})
	}
}

func benchmarkFanout(b *testing.B, subscribers int) {
	var reads atomic.Int64
	url := dbtest.URL(b)
	d, err := db.Open(url, db.WithStatementHook(func(_ context.Context, stmt string) {
		if eventReads.MatchString(stmt) {
			reads.Add(1)
		}
	}))
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := d.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	var broker Broker = NewLocal(d)
	if dbtest.Postgres() {
		p, err := NewPostgres(ctx, d, url, nil, WithChannel(testChannel()))
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		<-p.Ready()
		broker = p
	}

	var published atomic.Int64 // start of the current event's transaction, unix ns
	var received sync.WaitGroup
	latencies := make([][]time.Duration, subscribers)
	for i := range subscribers {
		ch, err := broker.Watch(ctx, Cards, 1, 1, "")
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
	reads.Store(0)
	b.ResetTimer()
	for i := range b.N {
		received.Add(subscribers)
		published.Store(time.Now().UnixNano())
		err := d.Tx(ctx, func(tx *db.Tx) error {
			return broker.Publish(ctx, tx, Event{Topic: Cards, CompanyID: 1, CustomerID: 1, ID: i, Kind: Updated})
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
	b.ReportMetric(float64(reads.Load())/float64(b.N), "reads/event")
	b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(0, "ns/op")
}
