package schema

import (
	"cardfile/ent/privacy"
	"cardfile/internal/auth/rule"

	"entgo.io/ent"
)

// Deny by default: every policy ends in an explicit decision, and only
// privacy.DecisionContext(ctx, privacy.Allow) (system work) bypasses them.

// tenantReadOnly lets staff read their company's rows and write none.
func tenantReadOnly() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.DenyIfNoViewer(), rule.FilterTenant(), privacy.AlwaysAllowRule()},
		Mutation: privacy.MutationPolicy{privacy.AlwaysDenyRule()},
	}
}

// Policy of the Company: staff read their own company only.
func (Company) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.DenyIfNoViewer(), rule.FilterOwnCompany(), privacy.AlwaysAllowRule()},
		Mutation: privacy.MutationPolicy{privacy.AlwaysDenyRule()},
	}
}

// Policy of the Staff.
func (Staff) Policy() ent.Policy { return tenantReadOnly() }

// Policy of the Customer.
func (Customer) Policy() ent.Policy { return tenantReadOnly() }

// Policy of the Session: system only (the auth package).
func (Session) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{privacy.AlwaysDenyRule()},
		Mutation: privacy.MutationPolicy{privacy.AlwaysDenyRule()},
	}
}

// Policy of the CreditCard: card managers of the same company only.
func (CreditCard) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			rule.DenyIfNoViewer(), rule.DenyUnlessCardManager(), rule.FilterTenant(), privacy.AlwaysAllowRule(),
		},
		Mutation: privacy.MutationPolicy{
			rule.DenyIfNoViewer(), rule.DenyUnlessCardManager(), rule.CreateInViewerCompany(),
			rule.FilterTenant(), privacy.AlwaysAllowRule(),
		},
	}
}

// Policy of the AuditEvent: append-only; ADMIN and CREDIT_MANAGER read it.
func (AuditEvent) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			rule.DenyIfNoViewer(), rule.DenyUnlessAuditReader(), rule.FilterTenant(), privacy.AlwaysAllowRule(),
		},
		Mutation: privacy.MutationPolicy{
			rule.DenyIfNoViewer(), rule.CreateInViewerCompany(),
			privacy.OnMutationOperation(privacy.AlwaysAllowRule(), ent.OpCreate), privacy.AlwaysDenyRule(),
		},
	}
}

// Policy of the CardRequest: card managers of the same company; the public
// form acts through the requests package as the system, scoped by the token.
func (CardRequest) Policy() ent.Policy { return CreditCard{}.Policy() }

// Policy of the OutboxMessage: system only (the outbox mailer and the dev page).
func (OutboxMessage) Policy() ent.Policy { return Session{}.Policy() }

// Policy of the Payment: card managers of the same company.
func (Payment) Policy() ent.Policy { return CreditCard{}.Policy() }
