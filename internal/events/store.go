package events

import (
	"context"
	"fmt"
	"time"

	"cardfile/ent"
	"cardfile/ent/event"
	"cardfile/ent/eventsequence"
	"cardfile/internal/db"

	"entgo.io/ent/dialect"
)

// readPage is how many events one read returns at most.
const readPage = 500

// nextSeqSQL allocates a company's next seq. The upsert takes the
// company's counter row lock until the transaction ends (see the package
// doc); SQLite wants ? placeholders, PostgreSQL $n.
var nextSeqSQL = map[string]string{
	dialect.SQLite: `INSERT INTO event_sequences (company_id, last, pruned) VALUES (?, 1, 0)
		ON CONFLICT (company_id) DO UPDATE SET last = event_sequences.last + 1 RETURNING last`,
	dialect.Postgres: `INSERT INTO event_sequences (company_id, last, pruned) VALUES ($1, 1, 0)
		ON CONFLICT (company_id) DO UPDATE SET last = event_sequences.last + 1 RETURNING last`,
}

// record writes e in tx under its company's next seq and returns the seq.
func record(ctx context.Context, dia string, tx *db.Tx, e Event) (int64, error) {
	var seq int64
	if err := tx.SQL.QueryRowContext(ctx, nextSeqSQL[dia], e.CompanyID).Scan(&seq); err != nil {
		return 0, fmt.Errorf("numbering event: %w", err)
	}
	err := tx.Event.Create().SetCompanyID(e.CompanyID).SetSeq(seq).SetTopic(string(e.Topic)).
		SetCustomerID(e.CustomerID).SetSubjectID(e.ID).SetKind(string(e.Kind)).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("recording event: %w", err)
	}
	return seq, nil
}

// readHeads returns every company's newest seq.
func readHeads(ctx context.Context, d *db.DB) (map[int]int64, error) {
	seqs, err := d.EventSequence.Query().All(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading event sequences: %w", err)
	}
	heads := make(map[int]int64, len(seqs))
	for _, s := range seqs {
		heads[s.CompanyID] = s.Last
	}
	return heads, nil
}

// readBounds returns a company's newest seq and the newest pruned one.
func readBounds(ctx context.Context, d *db.DB, companyID int) (head, pruned int64, err error) {
	s, err := d.EventSequence.Query().Where(eventsequence.CompanyID(companyID)).Only(ctx)
	if ent.IsNotFound(err) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("reading event sequence: %w", err)
	}
	return s.Last, s.Pruned, nil
}

// readCompany returns up to limit of a company's events after seq, in order.
func readCompany(ctx context.Context, d *db.DB, companyID int, after int64, limit int) ([]Event, error) {
	rows, err := d.Event.Query().Where(event.CompanyID(companyID), event.SeqGT(after)).
		Order(event.BySeq()).Limit(limit).All(ctx)
	return fromRows(rows), err
}

// readCustomer returns up to limit of a customer's events on topic after seq, in order.
func readCustomer(ctx context.Context, d *db.DB, companyID int, topic Topic, customerID int, after int64, limit int) ([]Event, error) {
	rows, err := d.Event.Query().Where(event.CompanyID(companyID), event.CustomerID(customerID),
		event.Topic(string(topic)), event.SeqGT(after)).
		Order(event.BySeq()).Limit(limit).All(ctx)
	return fromRows(rows), err
}

func fromRows(rows []*ent.Event) []Event {
	evs := make([]Event, len(rows))
	for i, r := range rows {
		evs[i] = Event{Topic: Topic(r.Topic), CompanyID: r.CompanyID, CustomerID: r.CustomerID,
			ID: r.SubjectID, Kind: Kind(r.Kind), Seq: r.Seq}
	}
	return evs
}

// Prune deletes events recorded before cutoff and returns how many; a
// cursor at or before the newest one deleted then gets Resync. It runs as a
// periodic job.
func Prune(ctx context.Context, d *db.DB, cutoff time.Time) (int, error) {
	var marks []struct {
		CompanyID int   `json:"company_id"`
		Max       int64 `json:"max"`
	}
	err := d.Event.Query().Where(event.CreatedAtLT(cutoff)).GroupBy(event.FieldCompanyID).
		Aggregate(ent.Max(event.FieldSeq)).Scan(ctx, &marks)
	if err != nil {
		return 0, fmt.Errorf("finding old events: %w", err)
	}
	deleted := 0
	for _, m := range marks {
		// Raise the mark first and in the same transaction: a cursor never
		// sees rows gone without the mark that says so.
		err := d.Tx(ctx, func(tx *db.Tx) error {
			err := tx.EventSequence.Update().
				Where(eventsequence.CompanyID(m.CompanyID), eventsequence.PrunedLT(m.Max)).
				SetPruned(m.Max).Exec(ctx)
			if err != nil {
				return err
			}
			n, err := tx.Event.Delete().Where(event.CompanyID(m.CompanyID), event.SeqLTE(m.Max)).Exec(ctx)
			deleted += n
			return err
		})
		if err != nil {
			return deleted, fmt.Errorf("pruning events of company %d: %w", m.CompanyID, err)
		}
	}
	return deleted, nil
}
