package server

import (
	"context"
	"encoding/json"
	"net/http"

	"cardfile/internal/apperr"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// unavailableStatus answers HTTP 503 with Retry-After, instead of 200, a
// POST whose response holds no data and only SERVICE_UNAVAILABLE errors:
// load balancers, proxies and generic HTTP clients then see an outage for
// what it is. A response with some data keeps 200 (a mutation that
// committed must not look like one to retry); websocket messages have no
// status and are left alone. It installs both halves: a response
// interceptor that judges the response, and a writer that applies the
// verdict when the transport writes.
func unavailableStatus(srv *handler.Server) http.Handler {
	srv.Use(unavailableResponses{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isWebsocketUpgrade(r) {
			srv.ServeHTTP(w, r)
			return
		}
		uw := &unavailableWriter{ResponseWriter: w}
		srv.ServeHTTP(uw, r.WithContext(context.WithValue(r.Context(), unavailableKey{}, uw)))
	})
}

type unavailableKey struct{}

// unavailableResponses marks the request's writer when a response is an
// outage answer. Errors are presented (coded) before it sees them.
type unavailableResponses struct{}

var (
	_ graphql.HandlerExtension    = unavailableResponses{}
	_ graphql.ResponseInterceptor = unavailableResponses{}
)

func (unavailableResponses) ExtensionName() string { return "UnavailableStatus" }

func (unavailableResponses) Validate(graphql.ExecutableSchema) error { return nil }

func (unavailableResponses) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if uw, ok := ctx.Value(unavailableKey{}).(*unavailableWriter); ok && resp != nil && outage(resp) {
		uw.unavailable = true
	}
	return resp
}

// outage reports whether resp has errors, all SERVICE_UNAVAILABLE, and no
// data: null, or only null fields.
func outage(resp *graphql.Response) bool {
	if len(resp.Errors) == 0 || !allUnavailable(resp.Errors) {
		return false
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(resp.Data, &fields); err != nil {
		return len(resp.Data) == 0 // not an object: only an absent data counts
	}
	for _, v := range fields { // a null data decodes to no fields
		if string(v) != "null" {
			return false
		}
	}
	return true
}

func allUnavailable(errs gqlerror.List) bool {
	for _, e := range errs {
		if e.Extensions["code"] != string(apperr.ServiceUnavailable) {
			return false
		}
	}
	return true
}

// unavailableWriter turns the transport's implicit 200 into 503 with
// Retry-After once the response was judged an outage answer.
type unavailableWriter struct {
	http.ResponseWriter
	unavailable bool
	wroteHeader bool
}

func (w *unavailableWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	if w.unavailable && code == http.StatusOK {
		w.Header().Set("Retry-After", apperr.RetryAfter)
		code = http.StatusServiceUnavailable
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *unavailableWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *unavailableWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
