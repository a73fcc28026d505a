package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestWithDeadline(t *testing.T) {
	const timeout = time.Minute
	for _, tc := range []struct {
		name         string
		req          *http.Request
		wantDeadline bool
	}{
		{"a POST", httptest.NewRequest(http.MethodPost, "/query", nil), true},
		{"a websocket upgrade", func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/query", nil)
			r.Header.Set("Connection", "Upgrade")
			r.Header.Set("Upgrade", "websocket")
			return r
		}(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var deadline time.Time
			var has bool
			began := time.Now()
			withDeadline(timeout, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				deadline, has = r.Context().Deadline()
			})).ServeHTTP(httptest.NewRecorder(), tc.req)
			if has != tc.wantDeadline {
				t.Fatalf("deadline set: %v, want %v", has, tc.wantDeadline)
			}
			if has && (deadline.Before(began.Add(timeout)) || deadline.After(time.Now().Add(timeout))) {
				t.Fatalf("deadline %s is not %s from the request", deadline, timeout)
			}
		})
	}
}
