package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// AuditEvent records a card change or a denied attempt, in the same
// transaction as the change. Details never hold card data.
type AuditEvent struct{ ent.Schema }

// Mixin of the AuditEvent.
func (AuditEvent) Mixin() []ent.Mixin { return []ent.Mixin{TenantMixin{}} }

// Fields of the AuditEvent.
func (AuditEvent) Fields() []ent.Field {
	return []ent.Field{
		field.Time("created_at").Immutable().Default(now).
			Annotations(entgql.OrderField("CREATED_AT")).Comment("When it happened."),
		field.Enum("actor_kind").Values("STAFF", "CUSTOMER", "SYSTEM").Immutable().Comment("Who acted."),
		field.Int("actor_staff_id").Optional().Nillable().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("action").NotEmpty().MaxLen(64).Immutable().Comment("What was attempted, e.g. credit_card.add."),
		field.String("subject_type").Optional().MaxLen(32).Immutable().Comment("The kind of thing acted on."),
		field.Int("subject_id").Optional().Nillable().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.Int("customer_id").Optional().Nillable().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.Enum("outcome").Values("SUCCESS", "DENIED", "FAILED").Immutable().Comment("How it ended."),
		field.String("origin_ip").Optional().MaxLen(64).Immutable().Comment("The caller's IP address."),
		field.JSON("details", map[string]any{}).Optional().Immutable().
			Annotations(entgql.Type("Map")).Comment("What changed, without card data."),
	}
}

// Edges of the AuditEvent.
func (AuditEvent) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("actor_staff", Staff.Type).Field("actor_staff_id").Unique().Immutable().Comment("The staff member who acted."),
		edge.From("customer", Customer.Type).Ref("audit_events").Field("customer_id").Unique().Immutable(),
	}
}

// Indexes of the AuditEvent.
func (AuditEvent) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("customer_id", "created_at"),
		index.Fields("company_id", "created_at"),
	}
}

// Annotations of the AuditEvent.
func (AuditEvent) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.Skip(entgql.SkipWhereInput, entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
	}
}
