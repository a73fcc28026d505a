package graph

import (
	"context"
	"fmt"

	"cardfile/graph/generated"
	"cardfile/internal/apperr"
	"cardfile/internal/auth"

	"github.com/99designs/gqlgen/graphql"
)

// Directives implements the schema's directives.
var Directives = generated.DirectiveRoot{AsSignedIn: asSignedIn}

// asSignedIn resolves a login payload's field as the staff member it signed
// in. A resolver cannot change the context its result's fields resolve in;
// a directive's next can, and the anonymous caller's context would let the
// privacy rules refuse what the new session may read.
func asSignedIn(ctx context.Context, obj any, next graphql.Resolver) (any, error) {
	res, ok := obj.(*auth.LoginResult)
	if !ok {
		return nil, fmt.Errorf("@asSignedIn on %T, want a login payload", obj)
	}
	return next(res.SignedIn(ctx))
}

// onlyRootField refuses an operation that selects other root fields beside
// field (__typename aside). A login's session must reach the client, and a
// sibling that fails would null the whole response, token and all, leaving
// a session nobody holds; refusing first creates nothing.
func onlyRootField(ctx context.Context, field string) error {
	oc, root := graphql.GetOperationContext(ctx), graphql.GetFieldContext(ctx).Object
	n := 0
	for _, f := range graphql.CollectFields(oc, oc.Operation.SelectionSet, []string{root}) {
		if f.Name != "__typename" {
			n++
		}
	}
	if n > 1 {
		return apperr.BadInput(field, "send %s as the only field of its operation", field)
	}
	return nil
}
