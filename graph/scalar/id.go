// Package scalar holds cardfile's GraphQL scalar marshalers.
package scalar

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"cardfile/internal/apperr"

	"github.com/99designs/gqlgen/graphql"
)

// MarshalID writes an ent id as a GraphQL ID (a string).
func MarshalID(id int) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(strconv.Itoa(id))) })
}

// UnmarshalID reads a GraphQL ID; anything but a whole number is bad input.
func UnmarshalID(v any) (int, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.Number:
		s = x.String()
	case int:
		return x, nil
	case int64:
		s = strconv.FormatInt(x, 10)
	default:
		s = fmt.Sprint(x)
	}
	id, err := strconv.Atoi(s)
	if err != nil || id < 0 {
		return 0, apperr.BadInput("", "%q is not a valid id", truncate(s, 40))
	}
	return id, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
