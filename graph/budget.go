package graph

import (
	"context"

	"cardfile/internal/apperr"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

// ReasonTooLarge is the extensions.reason of a request refused by DocumentLimits.
const ReasonTooLarge = "REQUEST_TOO_LARGE"

// DocumentLimits bound what one request may cost before gqlgen has validated
// it. The body limit alone does not: gqlparser's overlapping-fields rule is
// quadratic in fields sharing a response name (a 220 KB body of repeated
// __typename kept a core busy 47 s), and gqlgen's complexity count expands
// every fragment spread, so fragments spreading fragments twice are
// exponential. Every limit is far above what the app's own documents use.
type DocumentLimits struct {
	// Tokens caps the parser's tokens (the CVE-2023-49559 fix; graphql-java's default).
	Tokens int
	// Operations and Fragments cap the definitions of one document: all of
	// them are validated, whichever operation runs.
	Operations, Fragments int
	// Selections caps fields, spreads and inline fragments reached from every
	// operation and fragment definition, a fragment counted at each spread,
	// as gqlgen's complexity count and execution expand them.
	Selections int
	// Overlaps caps the pairs of same-named fields (and of fragment spreads
	// side by side) that the overlapping-fields rule compares.
	Overlaps int
	// ValueDepth caps the nesting of lists and input objects, in the query's
	// literals and in the variables.
	ValueDepth int
	// VariableValues caps the list items and object fields of all variables.
	VariableValues int
}

// DefaultDocumentLimits are the limits cardfile serves with.
func DefaultDocumentLimits() DocumentLimits {
	return DocumentLimits{
		Tokens:         15000,
		Operations:     20,
		Fragments:      200,
		Selections:     10000,
		Overlaps:       100000,
		ValueDepth:     32,
		VariableValues: 10000,
	}
}

// Budget is the handler extension that applies DocumentLimits before gqlgen
// parses and validates a document. Set the executor's parser token limit to
// Limits.Tokens as well; Cache is the executor's query cache, whose documents
// have passed already.
type Budget struct {
	Limits DocumentLimits
	Cache  graphql.Cache[*ast.QueryDocument]
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = Budget{}

// ExtensionName names the extension.
func (Budget) ExtensionName() string { return "Budget" }

// Validate accepts any schema.
func (Budget) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationParameters refuses a request over the limits. A document
// that does not parse is left to the executor, which reports the error.
func (b Budget) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if err := b.Limits.checkVariables(p.Variables); err != nil {
		return err
	}
	if b.Cache != nil {
		if _, ok := b.Cache.Get(ctx, p.Query); ok {
			return nil
		}
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: p.Query}, b.Limits.Tokens)
	if err != nil {
		return nil
	}
	return b.Limits.checkDocument(doc)
}

// tooLarge is the refusal: BAD_USER_INPUT on field with ReasonTooLarge,
// answered with HTTP 422 like the parser's and validator's own refusals.
func tooLarge(field, format string, args ...any) *gqlerror.Error {
	ae := apperr.BadInput(field, format, args...)
	ae.Reason = ReasonTooLarge
	err := &gqlerror.Error{Message: ae.Message, Err: ae}
	errcode.Set(err, errcode.ValidationFailed)
	return err
}

func (l DocumentLimits) checkVariables(vars map[string]any) *gqlerror.Error {
	values := 0
	var walk func(v any, depth int) bool
	walk = func(v any, depth int) bool {
		var children []any
		switch v := v.(type) {
		case []any:
			children = v
		case map[string]any:
			for _, c := range v {
				children = append(children, c)
			}
		default:
			return true
		}
		values += len(children)
		if depth >= l.ValueDepth || values > l.VariableValues {
			return false
		}
		for _, c := range children {
			if !walk(c, depth+1) {
				return false
			}
		}
		return true
	}
	for _, v := range vars {
		if !walk(v, 0) {
			return tooLarge("variables", "the variables hold more than %d values or nest deeper than %d levels", l.VariableValues, l.ValueDepth)
		}
	}
	return nil
}

// checkDocument counts what validation and execution will walk, stopping as
// soon as a limit is passed so that the count itself stays cheap.
func (l DocumentLimits) checkDocument(doc *ast.QueryDocument) *gqlerror.Error {
	switch {
	case len(doc.Operations) > l.Operations:
		return tooLarge("query", "the document defines %d operations; the limit is %d", len(doc.Operations), l.Operations)
	case len(doc.Fragments) > l.Fragments:
		return tooLarge("query", "the document defines %d fragments; the limit is %d", len(doc.Fragments), l.Fragments)
	}
	c := counter{limits: l, fragments: map[string]*ast.FragmentDefinition{}, expanding: map[string]bool{}}
	for _, f := range doc.Fragments {
		if _, dup := c.fragments[f.Name]; !dup {
			c.fragments[f.Name] = f
		}
	}
	for _, op := range doc.Operations {
		c.root(op.SelectionSet)
		for _, v := range op.VariableDefinitions {
			c.value(v.DefaultValue, 0)
		}
	}
	for _, f := range doc.Fragments {
		c.root(f.SelectionSet)
	}
	switch {
	case c.selections > l.Selections:
		return tooLarge("query", "the query has more than %d selections, counting each fragment where it is spread", l.Selections)
	case c.overlaps > l.Overlaps:
		return tooLarge("query", "the query repeats fields or fragment spreads too often (more than %d pairs to compare)", l.Overlaps)
	case c.deepValue:
		return tooLarge("query", "a value in the query nests deeper than %d levels", l.ValueDepth)
	}
	return nil
}

// counter expands selection sets as execution would: each spread inlines its
// fragment, and fields sharing a response name merge, so that merged.fields
// is how many fields validation compares with one another.
type counter struct {
	limits     DocumentLimits
	fragments  map[string]*ast.FragmentDefinition
	expanding  map[string]bool // fragments on the current path: cycles, which validation refuses
	selections int
	overlaps   int
	deepValue  bool
}

type merged struct {
	fields, spreads int
	children        map[string]*merged
}

func (c *counter) over() bool {
	return c.selections > c.limits.Selections || c.overlaps > c.limits.Overlaps || c.deepValue
}

func (c *counter) root(set ast.SelectionSet) {
	c.collect(&merged{}, set)
}

func (c *counter) collect(into *merged, set ast.SelectionSet) {
	for _, sel := range set {
		if c.over() {
			return
		}
		c.selections++
		switch s := sel.(type) {
		case *ast.Field:
			c.arguments(s.Arguments)
			c.directives(s.Directives)
			name := s.Alias
			if name == "" {
				name = s.Name
			}
			if into.children == nil {
				into.children = map[string]*merged{}
			}
			child := into.children[name]
			if child == nil {
				child = &merged{}
				into.children[name] = child
			}
			c.overlaps += child.fields // the new field is compared with each before it
			child.fields++
			c.collect(child, s.SelectionSet)
		case *ast.InlineFragment:
			c.directives(s.Directives)
			c.collect(into, s.SelectionSet)
		case *ast.FragmentSpread:
			c.directives(s.Directives)
			c.overlaps += into.spreads
			into.spreads++
			f := c.fragments[s.Name]
			if f == nil || c.expanding[s.Name] {
				continue
			}
			c.expanding[s.Name] = true
			c.collect(into, f.SelectionSet)
			delete(c.expanding, s.Name)
		}
	}
}

func (c *counter) directives(list ast.DirectiveList) {
	for _, d := range list {
		c.arguments(d.Arguments)
	}
}

func (c *counter) arguments(list ast.ArgumentList) {
	for _, a := range list {
		c.value(a.Value, 0)
	}
}

func (c *counter) value(v *ast.Value, depth int) {
	if v == nil || c.deepValue {
		return
	}
	if depth > c.limits.ValueDepth {
		c.deepValue = true
		return
	}
	for _, child := range v.Children {
		c.value(child.Value, depth+1)
	}
}
