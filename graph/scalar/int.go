package scalar

import (
	"encoding/json"
	"math"
	"strconv"

	"cardfile/internal/apperr"

	"github.com/99designs/gqlgen/graphql"
)

// MarshalInt writes a GraphQL Int, exactly as gqlgen's built-in does.
func MarshalInt(i int) graphql.Marshaler { return graphql.MarshalInt(i) }

// UnmarshalInt reads a GraphQL Int strictly: a whole number within the
// spec's 32 bits. gqlgen's built-in, and gqlparser's variable check, take
// the string "5" for 5, where the spec asks for an error.
func UnmarshalInt(v any) (int, error) {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int64:
		n = x
	case json.Number: // a JSON number in the variables
		i, err := strconv.ParseInt(string(x), 10, 64)
		if err != nil {
			return 0, apperr.BadInput("", "must be a whole number")
		}
		n = i
	default:
		return 0, apperr.BadInput("", "must be a whole number")
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, apperr.BadInput("", "must be a whole number between %d and %d", math.MinInt32, math.MaxInt32)
	}
	return int(n), nil
}
