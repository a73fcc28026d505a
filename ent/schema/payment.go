package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Payment is a card payment applied from Receive Payments, Order Entry or
// Accounts Receivable. It keeps a snapshot of the card, so history reads the
// same after the card is deleted. Amounts are exact: integer cents.
type Payment struct{ ent.Schema }

// Mixin of the Payment.
func (Payment) Mixin() []ent.Mixin { return []ent.Mixin{TenantMixin{}, TimeMixin{}} }

// Fields of the Payment.
func (Payment) Fields() []ent.Field {
	return []ent.Field{
		field.Int("customer_id").Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.Int("credit_card_id").Optional().Nillable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("card_brand").Optional().Annotations(noFilter).Comment("The card's brand when paid."),
		field.String("card_last4").Optional().Annotations(noFilter).Comment("The card's last four digits when paid."),
		field.Int("card_exp_month").Optional().Annotations(noFilter).Comment("The card's expiry month when paid."),
		field.Int("card_exp_year").Optional().Annotations(noFilter).Comment("The card's expiry year when paid."),
		field.Int64("amount_cents").Positive().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("currency").MinLen(3).MaxLen(3).Immutable().Annotations(noFilter).Comment("ISO 4217 currency: USD."),
		field.Enum("status").Values("PENDING", "APPROVED", "DECLINED", "UNKNOWN", "FAILED").Default("PENDING").
			Annotations(noFilter).Comment("PENDING while charging; UNKNOWN when the gateway did not answer (check before charging again); FAILED when nothing was charged."),
		field.Enum("screen").Values("RECEIVE_PAYMENTS", "ORDER_ENTRY", "ACCOUNTS_RECEIVABLE").Immutable().
			Annotations(noFilter).Comment("The screen the payment was applied from."),
		field.String("reference").Default("").MaxRuneLen(64).SchemaType(varchar(64)).Immutable().Annotations(noFilter).Comment("Invoice or order number."),
		field.String("idempotency_key").NotEmpty().MaxLen(100).Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.Bytes("request_hash").Immutable().Sensitive().Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("gateway_transaction_id").Optional().Annotations(noFilter).Comment("The gateway's transaction id, when approved."),
		field.String("auth_code").Optional().Annotations(noFilter).Comment("The authorization code, when approved."),
		field.String("decline_code").Optional().Annotations(noFilter).Comment("Why it was declined or failed, as a code."),
		field.String("decline_message").Optional().Annotations(noFilter).Comment("Why it was declined or failed, in the processor's words."),
		field.Bool("saved_card").Default(false).Annotations(noFilter).Comment("Whether a new card was saved for future payments."),
		field.Time("resolved_at").Optional().Nillable().Annotations(noFilter).
			Comment("When a PENDING or UNKNOWN payment was settled from the gateway's own record (the reconciler)."),
		field.Int("created_by_id").Optional().Nillable().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Edges of the Payment.
func (Payment) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("customer", Customer.Type).Ref("payments").Field("customer_id").
			Unique().Required().Immutable().Annotations(noFilter).Comment("The paying customer."),
		edge.To("credit_card", CreditCard.Type).Field("credit_card_id").Unique().
			Annotations(noFilter, entsql.OnDelete(entsql.SetNull)).Comment("The card charged, while it is on file."),
		edge.To("created_by", Staff.Type).Field("created_by_id").Unique().Immutable().
			Annotations(noFilter).Comment("The staff member who applied the payment."),
	}
}

// Indexes of the Payment.
func (Payment) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("company_id", "idempotency_key").Unique(),
		index.Fields("customer_id", "created_at"),
	}
}

// Annotations of the Payment.
func (Payment) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput, entgql.SkipWhereInput),
	}
}
