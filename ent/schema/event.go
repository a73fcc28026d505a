package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Event is one committed change that open screens hear about, kept for a
// while so that a reconnecting subscriber replays what it missed. It is
// written in the transaction of the change; seq orders a company's events
// (see internal/events). Payloads are ids and kinds only.
type Event struct{ ent.Schema }

// Fields of the Event.
func (Event) Fields() []ent.Field {
	return []ent.Field{
		field.Int("company_id").Immutable(),
		field.Int64("seq").Immutable().Positive(),
		field.String("topic").NotEmpty().MaxLen(32).Immutable(),
		field.Int("customer_id").Immutable(),
		field.Int("subject_id").Immutable(),
		field.String("kind").NotEmpty().MaxLen(32).Immutable(),
		field.Time("created_at").Immutable().Default(now),
	}
}

// Indexes of the Event.
func (Event) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("company_id", "seq").Unique(),
		// A subscriber's replay reads one customer's topic in order.
		index.Fields("company_id", "customer_id", "topic", "seq"),
		index.Fields("created_at"),
	}
}

// Annotations of the Event.
func (Event) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// EventSequence is a company's event counter: last is the newest seq handed
// out, pruned the newest seq deleted by the retention job (a cursor at or
// below it may have missed events that are gone).
type EventSequence struct{ ent.Schema }

// Fields of the EventSequence.
func (EventSequence) Fields() []ent.Field {
	return []ent.Field{
		field.Int("company_id").Unique().Immutable(),
		field.Int64("last").Default(0),
		field.Int64("pruned").Default(0),
	}
}

// Annotations of the EventSequence.
func (EventSequence) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
