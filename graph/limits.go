package graph

import (
	"context"
	"fmt"
	"strings"

	"cardfile/internal/apperr"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Page sizes for every connection.
const (
	DefaultPageSize = 50
	MaxPageSize     = 100
	MaxNodes        = 100
)

// PageSizes is a field middleware for every connection field: it defaults
// first to DefaultPageSize and refuses pages over MaxPageSize.
func PageSizes(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Field.Definition == nil || !strings.HasSuffix(fc.Field.Definition.Type.Name(), "Connection") {
		return next(ctx)
	}
	first, _ := fc.Args["first"].(*int)
	last, _ := fc.Args["last"].(*int)
	for name, n := range map[string]*int{"first": first, "last": last} {
		if n != nil && (*n < 0 || *n > MaxPageSize) {
			return nil, apperr.BadInput(name, "%s must be between 0 and %d", name, MaxPageSize)
		}
	}
	if first == nil && last == nil {
		n := DefaultPageSize
		fc.Args["first"] = &n
	}
	return next(ctx)
}

// DepthLimit refuses operations nested deeper than Max (introspection
// fields excepted, which only dev mode allows).
type DepthLimit struct{ Max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = DepthLimit{}

// ExtensionName names the extension.
func (DepthLimit) ExtensionName() string { return "DepthLimit" }

// Validate accepts any schema.
func (DepthLimit) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext measures the operation's depth.
func (d DepthLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	if depth := selectionDepth(oc.Operation.SelectionSet, 0, d.Max+1); depth > d.Max {
		err := gqlerror.Errorf("the query is nested %s levels deep; the limit is %d", depthText(depth, d.Max), d.Max)
		err.Extensions = map[string]any{"code": "DEPTH_LIMIT_EXCEEDED"}
		return err
	}
	return nil
}

func depthText(depth, max int) string {
	if depth > max {
		return fmt.Sprintf("more than %d", max)
	}
	return fmt.Sprint(depth)
}

// selectionDepth returns the depth of set, stopping once it passes stop
// (so fragment cycles, which validation also rejects, cannot loop forever).
func selectionDepth(set ast.SelectionSet, depth, stop int) int {
	if depth >= stop {
		return depth
	}
	deepest := depth
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			if strings.HasPrefix(s.Name, "__") {
				continue
			}
			d = depth + 1
			if len(s.SelectionSet) > 0 {
				d = selectionDepth(s.SelectionSet, depth+1, stop)
			}
		case *ast.InlineFragment:
			d = selectionDepth(s.SelectionSet, depth, stop)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				d = selectionDepth(s.Definition.SelectionSet, depth, stop)
			}
		}
		deepest = max(deepest, d)
	}
	return deepest
}
