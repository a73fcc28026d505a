package schema

import (
	"cardfile/internal/viewer"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// Staff is a person at a company who signs in to cardfile.
type Staff struct{ ent.Schema }

// Mixin of the Staff.
func (Staff) Mixin() []ent.Mixin { return []ent.Mixin{TenantMixin{}, TimeMixin{}} }

// Fields of the Staff.
func (Staff) Fields() []ent.Field {
	return []ent.Field{
		field.String("email").NotEmpty().MaxLen(254).Unique().Comment("Sign-in email, stored lower-case."),
		field.String("name").NotEmpty().MaxLen(200).Comment("Display name."),
		field.Enum("role").GoType(viewer.Role("")).Comment("The staff member's role."),
		field.String("password_hash").Sensitive().Annotations(entgql.Skip(entgql.SkipAll)),
		field.Bool("active").Default(true).Comment("Inactive staff cannot sign in."),
		field.Int("failed_logins").Default(0).Annotations(entgql.Skip(entgql.SkipAll)),
		field.Time("locked_until").Optional().Nillable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.Time("last_login_at").Optional().Nillable().Comment("When the staff member last signed in."),
	}
}

// Edges of the Staff.
func (Staff) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("sessions", Session.Type).Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Annotations of the Staff.
func (Staff) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipWhereInput)}
}
