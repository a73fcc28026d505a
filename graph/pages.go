package graph

import (
	"context"
	"reflect"
	"strings"
	"time"

	"cardfile/ent"
	"cardfile/graph/scalar"
	"cardfile/internal/apperr"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// PageArgs checks the page arguments of every connection field of an
// operation before anything runs. ent loads nested connections (a
// customer's auditEvents, say) while resolving their parent, so a field
// middleware would come too late: ent's collector answers first and last
// together, or an undecodable cursor, with a plain error or a panic, and
// PostgreSQL refuses a cursor whose value cannot be compared with the
// ordering's column — all answered INTERNAL. Here they are bad input of
// their argument. Page sizes stay with PageSizes.
type PageArgs struct{ schema *ast.Schema }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = &PageArgs{}

// ExtensionName names the extension.
func (*PageArgs) ExtensionName() string { return "PageArgs" }

// Validate keeps the schema, to find what each connection orders by.
func (p *PageArgs) Validate(es graphql.ExecutableSchema) error {
	p.schema = es.Schema()
	return nil
}

// MutateOperationContext checks every connection field's arguments.
func (p *PageArgs) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	if err := p.check(oc.Operation.SelectionSet, oc.Variables, map[string]bool{}); err != nil {
		return &gqlerror.Error{Message: err.Message, Err: err}
	}
	return nil
}

func (p *PageArgs) check(set ast.SelectionSet, vars map[string]any, seen map[string]bool) *apperr.Error {
	for _, sel := range set {
		var err *apperr.Error
		switch s := sel.(type) {
		case *ast.Field:
			if err = p.field(s, vars); err == nil {
				err = p.check(s.SelectionSet, vars, seen)
			}
		case *ast.InlineFragment:
			err = p.check(s.SelectionSet, vars, seen)
		case *ast.FragmentSpread:
			if s.Definition != nil && !seen[s.Name] {
				seen[s.Name] = true // arguments depend only on vars: once is enough
				err = p.check(s.Definition.SelectionSet, vars, seen)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (p *PageArgs) field(f *ast.Field, vars map[string]any) *apperr.Error {
	if f.Definition == nil || !strings.HasSuffix(f.Definition.Type.Name(), "Connection") {
		return nil
	}
	args := f.ArgumentMap(vars)
	if args["first"] != nil && args["last"] != nil {
		return apperr.BadInput("last", "give first or last, not both")
	}
	for _, name := range []string{"after", "before"} {
		raw, ok := args[name]
		if !ok || raw == nil {
			continue
		}
		c, err := scalar.UnmarshalCursor(raw)
		if err != nil {
			ae, _ := apperr.As(err)
			return apperr.BadInput(name, "%s", ae.Message)
		}
		if f.Definition.Arguments.ForName("orderBy") == nil {
			continue // a fixed order: its resolver checks with CursorFits
		}
		if err := fits(name, &c, p.orderKind(f.Definition.Type.Name(), args["orderBy"])); err != nil {
			return err
		}
	}
	return nil
}

// orderKind is the kind of value cursors of a connection carry under the
// given orderBy: the id without one, else the ordered field of the node
// type (entgql names the order enum after the field: CREATED_AT orders by
// createdAt). "" when the schema does not say, and nothing is checked.
func (p *PageArgs) orderKind(connection string, orderBy any) string {
	order, _ := orderBy.(map[string]any)
	field, _ := order["field"].(string)
	if field == "" {
		return "int"
	}
	node := p.nodeType(connection)
	if node == nil {
		return ""
	}
	parts := strings.Split(strings.ToLower(field), "_")
	for i := 1; i < len(parts); i++ {
		parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
	}
	def := node.Fields.ForName(strings.Join(parts, ""))
	if def == nil {
		return ""
	}
	typ := p.schema.Types[def.Type.Name()]
	switch {
	case typ == nil:
		return ""
	case typ.Kind == ast.Enum:
		return "string"
	}
	return map[string]string{"String": "string", "ID": "int", "Int": "int", "Float": "float", "Boolean": "bool", "Time": "time"}[typ.Name]
}

// nodeType is the node type of a connection type (Connection.edges.node).
func (p *PageArgs) nodeType(connection string) *ast.Definition {
	conn := p.schema.Types[connection]
	if conn == nil || conn.Fields.ForName("edges") == nil {
		return nil
	}
	edge := p.schema.Types[conn.Fields.ForName("edges").Type.Name()]
	if edge == nil || edge.Fields.ForName("node") == nil {
		return nil
	}
	return p.schema.Types[edge.Fields.ForName("node").Type.Name()]
}

// CursorFits refuses a cursor (the argument name) that does not belong to
// a resolver's fixed order, given by that order's ent Value function (such
// as ent.CreditCardOrderFieldExpiresAt.Value).
func CursorFits[T any](name string, c *entgql.Cursor[int], value func(*T) (ent.Value, error)) error {
	v, err := value(new(T))
	if err != nil {
		return err
	}
	if err := fits(name, c, valueKind(v)); err != nil {
		return err
	}
	return nil
}

// fits refuses a cursor whose value is not of kind want ("" checks
// nothing). Cursors without a value order by id alone and always fit.
func fits(name string, c *entgql.Cursor[int], want string) *apperr.Error {
	if c == nil || c.Value == nil || want == "" || valueKind(c.Value) == want {
		return nil
	}
	return apperr.BadInput(name, "this cursor belongs to another ordering: pass a cursor from the same query")
}

// valueKind groups values as msgpack decodes them from a cursor: any
// integer size is an int, enums are strings; "" fits no ordering.
func valueKind(v any) string {
	if _, ok := v.(time.Time); ok {
		return "time"
	}
	if v == nil {
		return ""
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "int"
	case reflect.Float32, reflect.Float64:
		return "float"
	case reflect.Bool:
		return "bool"
	}
	return ""
}
