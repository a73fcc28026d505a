package graph

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"cardfile/ent"
	"cardfile/ent/privacy"
	"cardfile/internal/apperr"
	"cardfile/internal/auth"
	"cardfile/internal/viewer"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// ErrorPresenter is the one place errors become GraphQL errors with an
// extensions.code from DESIGN.md §4. Unknown errors are logged and shown
// only as "internal error".
func ErrorPresenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		code, field := classify(ctx, err, gqlErr)
		switch code {
		case apperr.Internal:
			log.ErrorContext(ctx, "internal error", "path", gqlErr.Path.String(), "err", err)
			gqlErr.Message = "internal error"
		case apperr.ServiceUnavailable:
			// The cause, not err: classify has already rewritten its message.
			log.WarnContext(ctx, "database unavailable", "path", gqlErr.Path.String(), "err", gqlErr.Unwrap())
		}
		if gqlErr.Extensions == nil {
			gqlErr.Extensions = map[string]any{}
		}
		if prior, ok := gqlErr.Extensions["code"]; ok && prior != string(code) {
			gqlErr.Extensions["reason"] = prior
		}
		gqlErr.Extensions["code"] = string(code)
		if field != "" {
			gqlErr.Extensions["field"] = field
		}
		return gqlErr
	}
}

// classify picks the code (and, for bad input, the field) and rewrites the
// message when the original could reveal internals.
func classify(ctx context.Context, err error, gqlErr *gqlerror.Error) (apperr.Code, string) {
	var (
		ae  *apperr.Error
		ve  *ent.ValidationError
		gql *gqlerror.Error
	)
	switch {
	case errors.As(err, &ae):
		gqlErr.Message = ae.Message
		if ae.Reason != "" {
			gqlErr.Extensions = map[string]any{"reason": ae.Reason}
		}
		if ae.Field == "" && ae.Code == apperr.BadUserInput {
			// An argument that failed to parse: its path ends with the
			// argument's name, then list indexes for an element of a list.
			for i := len(gqlErr.Path) - 1; i >= 0; i-- {
				if name, ok := gqlErr.Path[i].(ast.PathName); ok {
					return ae.Code, string(name)
				}
			}
		}
		return ae.Code, ae.Field
	case apperr.Unavailable(err):
		// Before privacy: a rule that could not read the database denies,
		// and "sign in first" would be a lie.
		gqlErr.Message = apperr.MsgUnavailable
		return apperr.ServiceUnavailable, ""
	case errors.Is(err, privacy.Deny):
		if viewer.FromContext(ctx) == nil {
			gqlErr.Message = "sign in first"
			if auth.ExpiredFromContext(ctx) {
				gqlErr.Message = "your session has expired; sign in again"
			}
			return apperr.Unauthenticated, ""
		}
		gqlErr.Message = "you are not allowed to do that"
		return apperr.Forbidden, ""
	case introspection(gqlErr.Path):
		gqlErr.Message = "introspection is disabled on this server"
		return apperr.BadUserInput, "query"
	case ent.IsNotFound(err):
		gqlErr.Message = "not found"
		return apperr.NotFound, ""
	case errors.As(err, &ve):
		gqlErr.Message = "invalid " + ve.Name
		return apperr.BadUserInput, ve.Name
	case emptyFilter(err):
		gqlErr.Message = "a filter in where is empty (say not: {}); give it a condition or leave it out"
		return apperr.BadUserInput, "where"
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		// The request's own deadline (server.Config.RequestTimeout).
		gqlErr.Message = "the server could not answer in time; try again"
		return apperr.ServiceUnavailable, ""
	case errors.As(err, &gql) && gql.Err == nil && gql.Extensions["code"] == string(apperr.NotFound):
		return apperr.NotFound, "" // entgql's "could not resolve to a node"
	case errors.As(err, &gql) && gql.Err == nil && gql.Extensions["code"] != nil:
		// Parse, validation, complexity and depth errors from the executor: the
		// request itself is wrong.
		return apperr.BadUserInput, "query"
	case errors.As(err, &gql) && gql.Err == nil && gql.Path == nil:
		// Transport errors, such as a body that is not JSON. gqlgen quotes
		// the whole body in that message, and a body can hold anything (a
		// card number typed into the wrong place): say what is wrong, never
		// echo it.
		if strings.HasPrefix(gqlErr.Message, "json request body could not be decoded") {
			gqlErr.Message = "the request body is not a JSON object with a query"
		}
		return apperr.BadUserInput, "body"
	}
	return apperr.Internal, ""
}

// introspection reports whether path is an introspection field, which gqlgen
// refuses with a plain error when introspection is off.
func introspection(path ast.Path) bool {
	if len(path) == 0 {
		return false
	}
	name, ok := path[0].(ast.PathName)
	return ok && (name == "__schema" || name == "__type")
}

// emptyFilter reports whether err is entgql's refusal of an empty nested
// filter (not: {}, or: [{}], has…With: [{}]).
func emptyFilter(err error) bool {
	for _, empty := range []error{ent.ErrEmptyCustomerWhereInput, ent.ErrEmptyCreditCardWhereInput, ent.ErrEmptyCardRequestWhereInput} {
		if errors.Is(err, empty) {
			return true
		}
	}
	return false
}
