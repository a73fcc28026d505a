package scalar

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"cardfile/internal/apperr"

	"github.com/99designs/gqlgen/graphql"
)

// MarshalString writes a GraphQL String, exactly as gqlgen's built-in does.
func MarshalString(s string) graphql.Marshaler { return graphql.MarshalString(s) }

// UnmarshalString reads a GraphQL String strictly, for every String argument
// and input field. gqlgen's built-in coerces numbers and booleans (a JSON 12
// arrives as a json.Number, which gqlparser's variable check takes for a
// string), where the spec asks for an error; and a NUL byte reaches
// PostgreSQL, which refuses it in text and so answered INTERNAL. The path of
// the argument or input field names the field (see graph.ErrorPresenter).
func UnmarshalString(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", apperr.BadInput("", "must be text (a string)")
	}
	if !utf8.ValidString(s) {
		return "", apperr.BadInput("", "must be valid UTF-8 text")
	}
	if strings.IndexFunc(s, forbidden) >= 0 {
		return "", apperr.BadInput("", "text must not contain control characters")
	}
	return s, nil
}

// forbidden is a control character other than tab and line breaks, which
// free-text checks (textguard) judge per field.
func forbidden(r rune) bool {
	return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r'
}
