package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// OutboxMessage is an email "sent" by the embedded default's outbox mailer,
// kept so a developer can open the links on one machine. Bodies are sealed:
// they hold single-use links.
type OutboxMessage struct{ ent.Schema }

// Fields of the OutboxMessage.
func (OutboxMessage) Fields() []ent.Field {
	return []ent.Field{
		field.Time("created_at").Immutable().Default(now),
		field.String("to").NotEmpty().MaxLen(254).Immutable(),
		field.String("subject").NotEmpty().MaxLen(200).Immutable(),
		field.Text("text_body").Sensitive().Immutable(),
		field.Text("html_body").Sensitive().Immutable(),
	}
}

// Indexes of the OutboxMessage.
func (OutboxMessage) Indexes() []ent.Index {
	return []ent.Index{index.Fields("created_at")}
}

// Annotations of the OutboxMessage.
func (OutboxMessage) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
