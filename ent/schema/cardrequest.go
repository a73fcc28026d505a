package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// CardRequest is an emailed, single-use link asking a customer to enter a
// card themselves. Only the SHA-256 of the link's token is stored.
type CardRequest struct{ ent.Schema }

// Mixin of the CardRequest.
func (CardRequest) Mixin() []ent.Mixin { return []ent.Mixin{TenantMixin{}, TimeMixin{}} }

// Fields of the CardRequest.
func (CardRequest) Fields() []ent.Field {
	return []ent.Field{
		field.Int("customer_id").Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("email").NotEmpty().MaxLen(254).Immutable().
			Annotations(noFilter).Comment("Where the link was sent."),
		field.Bytes("token_hash").Unique().Sensitive().Immutable().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Enum("status").Values("PENDING", "OPENED", "COMPLETED", "EXPIRED", "CANCELLED").Default("PENDING").
			Annotations(noFilter).Comment("Where the request stands."),
		field.Time("expires_at").Immutable().Annotations(noFilter).Comment("When the link stops working: 8 hours after it was sent."),
		field.Time("opened_at").Optional().Nillable().Annotations(noFilter).Comment("When the customer first opened the link."),
		field.Time("completed_at").Optional().Nillable().Annotations(noFilter).Comment("When the customer submitted a card."),
		field.Time("cancelled_at").Optional().Nillable().Annotations(noFilter).Comment("When staff cancelled or replaced the link."),
		field.Enum("delivery_status").Values("QUEUED", "SENT", "FAILED").Default("QUEUED").
			Annotations(noFilter).Comment("Whether the email went out."),
		field.Int("delivery_attempts").Default(0).Annotations(noFilter).Comment("How many times sending was tried."),
		field.Time("sent_at").Optional().Nillable().Annotations(noFilter).Comment("When the email was handed to the mail server."),
		field.Int("requested_by_id").Optional().Nillable().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.Int("credit_card_id").Optional().Nillable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.Int("replaces_id").Optional().Nillable().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Edges of the CardRequest.
func (CardRequest) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("customer", Customer.Type).Ref("card_requests").Field("customer_id").
			Unique().Required().Immutable().Annotations(noFilter).Comment("The customer asked for a card."),
		edge.To("requested_by", Staff.Type).Field("requested_by_id").Unique().Immutable().
			Annotations(noFilter).Comment("The staff member who sent the request."),
		edge.To("credit_card", CreditCard.Type).Field("credit_card_id").Unique().
			Annotations(noFilter).Comment("The card the customer entered, once completed and while it exists."),
	}
}

// Indexes of the CardRequest.
func (CardRequest) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("customer_id", "created_at"),
		index.Fields("status", "expires_at"),
		index.Fields("company_id", "created_at"),
	}
}

// Annotations of the CardRequest.
func (CardRequest) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)}
}
