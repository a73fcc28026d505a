package scalar

import (
	"cardfile/internal/apperr"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
)

// MarshalCursor writes a page cursor as entgql does (msgpack in base64).
func MarshalCursor(c entgql.Cursor[int]) graphql.Marshaler { return c }

// UnmarshalCursor reads a page cursor. entgql's own decoder answers a plain
// error, which the presenter must treat as INTERNAL; a cursor that does not
// decode is the caller's mistake, named by its argument (after or before).
func UnmarshalCursor(v any) (entgql.Cursor[int], error) {
	var c entgql.Cursor[int]
	if err := c.UnmarshalGQL(v); err != nil {
		return entgql.Cursor[int]{}, apperr.Wrap(err, apperr.BadUserInput, "not a cursor from this API: pass a cursor from pageInfo or an edge")
	}
	return c, nil
}
