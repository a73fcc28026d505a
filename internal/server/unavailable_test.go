package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Only a response that is nothing but SERVICE_UNAVAILABLE becomes HTTP 503
// with Retry-After: any data (a mutation that may have committed), any
// other error, or a status the transport chose itself keeps its answer.
func TestOnlyOutageAnswersBecome503(t *testing.T) {
	coded := func(codes ...string) gqlerror.List {
		var l gqlerror.List
		for _, c := range codes {
			l = append(l, &gqlerror.Error{Message: "m", Extensions: map[string]any{"code": c}})
		}
		return l
	}
	for _, tc := range []struct {
		name      string
		data      string
		errs      gqlerror.List
		transport int // the status the transport writes; 0: none (implicit 200)
		want      int
	}{
		{"outage, data null", "null", coded("SERVICE_UNAVAILABLE"), 0, http.StatusServiceUnavailable},
		{"outage, no data", "", coded("SERVICE_UNAVAILABLE", "SERVICE_UNAVAILABLE"), 0, http.StatusServiceUnavailable},
		{"outage, only null fields", `{"a":null,"b":null}`, coded("SERVICE_UNAVAILABLE"), 0, http.StatusServiceUnavailable},
		{"outage with some data", `{"a":{"id":"1"},"b":null}`, coded("SERVICE_UNAVAILABLE"), 0, http.StatusOK},
		{"outage and another error", "null", coded("SERVICE_UNAVAILABLE", "NOT_FOUND"), 0, http.StatusOK},
		{"internal error", "null", coded("INTERNAL"), 0, http.StatusOK},
		{"no errors", `{"a":null}`, nil, 0, http.StatusOK},
		{"transport's own status", "null", coded("SERVICE_UNAVAILABLE"), http.StatusUnprocessableEntity, http.StatusUnprocessableEntity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			w := &unavailableWriter{ResponseWriter: rec}
			w.unavailable = outage(&graphql.Response{Data: json.RawMessage(tc.data), Errors: tc.errs})
			if tc.transport != 0 {
				w.WriteHeader(tc.transport)
			}
			_, _ = w.Write([]byte("{}"))
			if rec.Code != tc.want || (rec.Header().Get("Retry-After") != "") != (tc.want == http.StatusServiceUnavailable) {
				t.Fatalf("HTTP %d Retry-After %q, want %d", rec.Code, rec.Header().Get("Retry-After"), tc.want)
			}
		})
	}
}
