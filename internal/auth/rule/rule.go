// Package rule holds the ent privacy rules: the real guard on tenancy and
// roles, whatever route (node, nodes, edges, where filters) reaches the data.
// Code that must act without a staff viewer (sign-in, seeding, migrations)
// uses privacy.DecisionContext(ctx, privacy.Allow).
package rule

import (
	"context"

	"cardfile/ent"
	"cardfile/ent/privacy"
	"cardfile/internal/viewer"
	"entgo.io/ent/entql"
)

// DenyIfNoViewer denies anonymous callers.
func DenyIfNoViewer() privacy.QueryMutationRule {
	return privacy.ContextQueryMutationRule(func(ctx context.Context) error {
		if viewer.FromContext(ctx) == nil {
			return privacy.Denyf("no viewer")
		}
		return privacy.Skip
	})
}

// DenyUnlessCardManager denies staff whose role may not manage cards in their company.
func DenyUnlessCardManager() privacy.QueryMutationRule {
	return privacy.ContextQueryMutationRule(func(ctx context.Context) error {
		if v := viewer.FromContext(ctx); v == nil || !v.CanManageCards {
			return privacy.Denyf("role may not manage cards")
		}
		return privacy.Skip
	})
}

// DenyUnlessAuditReader denies staff who may not read the audit trail.
func DenyUnlessAuditReader() privacy.QueryRule {
	return privacy.ContextQueryMutationRule(func(ctx context.Context) error {
		if v := viewer.FromContext(ctx); v == nil || !v.CanReadAudit() {
			return privacy.Denyf("role may not read the audit trail")
		}
		return privacy.Skip
	})
}

// FilterTenant limits queries, updates and deletes to the viewer's company.
func FilterTenant() privacy.QueryMutationRule {
	type tenantFilter interface{ WhereCompanyID(entql.IntP) }
	return privacy.FilterFunc(func(ctx context.Context, f privacy.Filter) error {
		v := viewer.FromContext(ctx)
		tf, ok := f.(tenantFilter)
		if v == nil || !ok {
			return privacy.Denyf("no tenant for %T", f)
		}
		tf.WhereCompanyID(entql.IntEQ(v.CompanyID))
		return privacy.Skip
	})
}

// FilterOwnCompany limits company queries to the viewer's own company.
func FilterOwnCompany() privacy.QueryRule {
	return privacy.FilterFunc(func(ctx context.Context, f privacy.Filter) error {
		v := viewer.FromContext(ctx)
		cf, ok := f.(*ent.CompanyFilter)
		if v == nil || !ok {
			return privacy.Denyf("no viewer")
		}
		cf.WhereID(entql.IntEQ(v.CompanyID))
		return privacy.Skip
	})
}

// CreateInViewerCompany allows a create only into the viewer's own company.
func CreateInViewerCompany() privacy.MutationRule {
	type tenantMutation interface{ CompanyID() (int, bool) }
	return privacy.OnMutationOperation(privacy.MutationRuleFunc(func(ctx context.Context, m ent.Mutation) error {
		v := viewer.FromContext(ctx)
		tm, ok := m.(tenantMutation)
		if v == nil || !ok {
			return privacy.Denyf("no tenant for %T", m)
		}
		if id, set := tm.CompanyID(); !set || id != v.CompanyID {
			return privacy.Denyf("create outside the viewer's company")
		}
		return privacy.Skip
	}), ent.OpCreate)
}
