package schema

import (
	"context"
	"fmt"

	"cardfile/internal/expiry"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"regexp"
)

// CreditCard is a customer's card on file: a gateway token and what is safe to show.
// Never a full card number, security code or track data.
type CreditCard struct{ ent.Schema }

// Mixin of the CreditCard.
func (CreditCard) Mixin() []ent.Mixin { return []ent.Mixin{TenantMixin{}, TimeMixin{}} }

// noFilter keeps a field out of the GraphQL where inputs: cards themselves
// are not searchable; customers filter on having them.
var noFilter = entgql.Skip(entgql.SkipWhereInput)

// varchar sizes a text column on PostgreSQL, where varchar(n) counts
// characters, as MaxRuneLen does; ent's own migration leaves varchar
// unbounded there. SQLite's text has no size: MaxRuneLen guards it alone.
func varchar(n int) map[string]string {
	return map[string]string{dialect.Postgres: fmt.Sprintf("varchar(%d)", n)}
}

// Fields of the CreditCard.
func (CreditCard) Fields() []ent.Field {
	return []ent.Field{
		field.Int("customer_id").Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("gateway_token").NotEmpty().Sensitive().Immutable().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Enum("brand").Values("VISA", "MASTERCARD", "AMEX", "DISCOVER", "DINERS", "JCB", "UNKNOWN").
			Immutable().Annotations(noFilter).Comment("Card brand, from the card number's IIN."),
		field.String("last4").Match(regexp.MustCompile(`^[0-9]{4}$`)).Immutable().
			Annotations(noFilter).Comment("The last four digits of the card number."),
		field.Int("exp_month").Range(1, 12).Immutable().Annotations(noFilter).Comment("Expiry month, 1–12."),
		field.Int("exp_year").Range(2000, 2200).Immutable().Annotations(noFilter).Comment("Expiry year, four digits."),
		field.Time("expires_at").Optional().Immutable().
			Annotations(noFilter, entgql.OrderField("EXPIRES_AT")).
			Comment("The first instant the card no longer works: the start of the month after its expiry month."),
		field.String("cardholder_name").Optional().MaxRuneLen(100).SchemaType(varchar(100)).Annotations(noFilter).Comment("Name on the card, if given."),
		field.String("billing_zip").Optional().MaxRuneLen(10).SchemaType(varchar(10)).Annotations(noFilter).Comment("Billing ZIP code, if given."),
		field.String("description").Default("").MaxRuneLen(100).SchemaType(varchar(100)).Annotations(noFilter).Comment("Staff's label for the card."),
		field.Bool("is_primary").Default(false).Annotations(noFilter).Comment("The default card on payment screens; at most one per customer."),
		field.Enum("source").Values("STAFF", "CUSTOMER_FORM", "PAYMENT").Immutable().
			Annotations(noFilter).Comment("How the card was entered."),
		field.Int("created_by_id").Optional().Nillable().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Edges of the CreditCard.
func (CreditCard) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("customer", Customer.Type).Ref("credit_cards").Field("customer_id").
			Unique().Required().Immutable().Annotations(noFilter).Comment("The card's customer."),
		edge.To("created_by", Staff.Type).Field("created_by_id").Unique().Immutable().Annotations(noFilter).
			Comment("The staff member who added the card, if staff did."),
	}
}

// Indexes of the CreditCard.
func (CreditCard) Indexes() []ent.Index {
	return []ent.Index{
		// The one-primary invariant, enforced by the database on both dialects.
		index.Fields("customer_id").Unique().StorageKey("credit_card_one_primary").
			Annotations(entsql.IndexWhere("is_primary")),
		index.Fields("customer_id", "brand", "last4", "exp_year", "exp_month"),
		index.Fields("company_id", "expires_at"),
	}
}

// Annotations of the CreditCard.
func (CreditCard) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)}
}

// Hooks of the CreditCard: every new card gets expires_at from its expiry
// month, however it is created.
func (CreditCard) Hooks() []ent.Hook {
	return []ent.Hook{func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			if m.Op().Is(ent.OpCreate) {
				month, _ := m.Field("exp_month")
				year, _ := m.Field("exp_year")
				mo, okM := month.(int)
				yr, okY := year.(int)
				if okM && okY {
					if err := m.SetField("expires_at", expiry.End(mo, yr)); err != nil {
						return nil, err
					}
				}
			}
			return next.Mutate(ctx, m)
		})
	}}
}
