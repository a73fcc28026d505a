package schema

import (
	"cardfile/internal/viewer"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
)

// Company is the tenant: a distributor using cardfile.
type Company struct{ ent.Schema }

// Mixin of the Company.
func (Company) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Fields of the Company.
func (Company) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(200).Comment("The company's display name."),
		field.String("country").MinLen(2).MaxLen(2).Default("US").Comment("ISO 3166-1 alpha-2 country code."),
		field.String("default_currency").MinLen(3).MaxLen(3).Default("USD").Comment("ISO 4217 default currency."),
		field.Bool("card_integration_enabled").Default(true).Comment("Whether the card gateway integration is turned on."),
		field.JSON("card_manager_roles", []viewer.Role{}).Default(viewer.DefaultCardManagers).
			Annotations(entgql.Skip(entgql.SkipAll)).Comment("Roles that may manage customers' cards."),
	}
}

// Annotations of the Company.
func (Company) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipWhereInput)}
}
