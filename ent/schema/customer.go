package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Customer is a company's customer, whose cards are kept on file.
type Customer struct{ ent.Schema }

// Mixin of the Customer.
func (Customer) Mixin() []ent.Mixin { return []ent.Mixin{TenantMixin{}, TimeMixin{}} }

// Fields of the Customer.
func (Customer) Fields() []ent.Field {
	return []ent.Field{
		field.String("code").NotEmpty().MaxLen(32).
			Annotations(entgql.OrderField("CODE")).Comment("The company's own customer code."),
		field.String("name").NotEmpty().MaxLen(200).
			Annotations(entgql.OrderField("NAME")).Comment("The customer's name."),
		field.String("email").Optional().MaxLen(254).Comment("Billing contact email; prefills card requests."),
		field.String("phone").Optional().MaxLen(40).
			Annotations(entgql.Skip(entgql.SkipWhereInput)).Comment("Contact phone."),
		field.String("default_currency").MinLen(3).MaxLen(3).Default("USD").Comment("ISO 4217 default currency."),
		field.String("country").MinLen(2).MaxLen(2).Default("US").
			Annotations(entgql.Skip(entgql.SkipWhereInput)).Comment("ISO 3166-1 alpha-2 country code."),
		field.Bool("active").Default(true).Comment("Inactive customers are kept for history."),
		field.Bool("restrict_card_payments").Default(false).
			Annotations(entgql.Skip(entgql.SkipWhereInput)).Comment("Blocks card payments in Order Entry (not in Receive Payments)."),
	}
}

// Edges of the Customer.
func (Customer) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("credit_cards", CreditCard.Type).
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)).
			Comment("Cards on file, primary first."),
		edge.To("card_requests", CardRequest.Type).
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput, entgql.SkipWhereInput)).
			Comment("Card requests emailed to this customer, newest first."),
		edge.To("payments", Payment.Type).
			Annotations(entgql.RelayConnection(), entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput, entgql.SkipWhereInput)).
			Comment("Card payments applied for this customer."),
		edge.To("audit_events", AuditEvent.Type).
			Annotations(entgql.RelayConnection(), entgql.Skip(entgql.SkipWhereInput)).
			Comment("What happened to this customer's cards, newest first (ADMIN and CREDIT_MANAGER only)."),
	}
}

// trigram makes a PostgreSQL GIN trigram index so the "contains" filters are indexed.
func trigram(col string) ent.Index {
	return index.Fields(col).StorageKey("customer_"+col+"_trgm").Annotations(
		entsql.IndexTypes(map[string]string{dialect.Postgres: "GIN"}),
		entsql.OpClass("gin_trgm_ops"),
	)
}

// Indexes of the Customer: one per offered filter.
func (Customer) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("company_id", "code").Unique(),
		index.Fields("company_id", "name"),
		index.Fields("company_id", "email"),
		index.Fields("company_id", "default_currency"),
		index.Fields("company_id", "active"),
		index.Fields("company_id", "created_at"),
		trigram("name"),
		trigram("code"),
		trigram("email"),
	}
}

// Annotations of the Customer.
func (Customer) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField("customers").Description("The viewer's company's customers, filtered and ordered; at most 100 a page."),
		entgql.RelayConnection(),
	}
}
