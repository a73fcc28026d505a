package graph

import (
	"context"
	"errors"
	"strings"

	"cardfile/ent"
	"cardfile/ent/privacy"
	"cardfile/graph/model"
	"cardfile/internal/apperr"
	"cardfile/internal/auth"
	"cardfile/internal/eligibility"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// company returns a company the viewer may see: their own, loaded once per
// request with the session, or through the privacy rules.
func (r *Resolver) company(ctx context.Context, id int) (*ent.Company, error) {
	if co := auth.CompanyFromContext(ctx); co != nil && co.ID == id {
		return co, nil
	}
	return r.DB.Company.Get(ctx, id)
}

// nodeError answers NOT_FOUND for ids that do not exist, are of no node
// type, or belong to another company; privacy denials and real faults keep
// their own codes.
func nodeError(err error) error {
	var gql *gqlerror.Error
	switch {
	case err == nil || errors.Is(err, privacy.Deny):
		return err
	case ent.IsNotFound(err), ent.IsNotSingular(err), strings.Contains(err.Error(), "cannot resolve"),
		errors.As(err, &gql) && gql.Extensions["code"] == string(apperr.NotFound):
		return apperr.NotFoundf("not found")
	}
	return err
}

// requested reports whether the operation selects the field at path below
// the current field, so a resolver can eager-load what the page will need.
func requested(ctx context.Context, path ...string) bool {
	oc := graphql.GetOperationContext(ctx)
	fields := graphql.CollectFieldsCtx(ctx, nil)
	for i, name := range path {
		var next []graphql.CollectedField
		for _, f := range fields {
			if f.Name == name {
				if i == len(path)-1 {
					return true
				}
				next = append(next, graphql.CollectFields(oc, f.Selections, nil)...)
			}
		}
		fields = next
	}
	return false
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// verdict is an eligibility verdict as GraphQL shows it.
func verdict(v eligibility.Verdict) *model.CardPaymentEligibility {
	return &model.CardPaymentEligibility{Allowed: v.Allowed, Reason: nonEmpty(v.Reason)}
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
