package auth_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"cardfile/internal/auth"
	"cardfile/internal/db/dbtest"
	"cardfile/internal/viewer"
)

// seen is what the handler behind the middleware found in its context.
type seen struct {
	viewer    *viewer.Staff
	companyID int
	expired   bool
	origin    string
}

func serve(t *testing.T, mw func(http.Handler) http.Handler, r *http.Request) seen {
	t.Helper()
	var got seen
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		got.viewer = viewer.FromContext(ctx)
		if c := auth.CompanyFromContext(ctx); c != nil {
			got.companyID = c.ID
		}
		got.expired = auth.ExpiredFromContext(ctx)
		got.origin = viewer.Origin(ctx)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	return got
}

func TestMiddleware(t *testing.T) {
	f := setup(t, testConfig())
	st := f.staff(t, "ana@acme.test", viewer.Admin)
	good := f.login(t, "ana@acme.test").Token
	stale := f.login(t, "ana@acme.test").Token
	f.clock.Advance(10 * time.Minute)
	if _, _, err := f.svc.Authenticate(t.Context(), good); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(10 * time.Minute) // stale is now idle 20m, good 10m

	var logs bytes.Buffer
	mw := auth.Middleware(f.svc, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	for _, tc := range []struct {
		name        string
		header      string
		wantViewer  bool
		wantExpired bool
	}{
		{"good token", "Bearer " + good, true, false},
		{"lower-case scheme", "bearer " + good, true, false},
		{"idle token", "Bearer " + stale, false, true},
		{"unknown token", "Bearer cfs_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", false, true},
		{"not a cardfile token", "Bearer something-else", false, true},
		{"no header", "", false, false},
		{"other scheme", "Basic YW5hOnB3", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/query", nil)
			r.RemoteAddr = "203.0.113.9:51234"
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			got := serve(t, mw, r)
			if (got.viewer != nil) != tc.wantViewer || got.expired != tc.wantExpired {
				t.Fatalf("viewer %v expired %v, want viewer=%v expired=%v", got.viewer, got.expired, tc.wantViewer, tc.wantExpired)
			}
			if tc.wantViewer {
				if got.viewer.StaffID != st.ID || got.viewer.Role != viewer.Admin || !got.viewer.CanManageCards || got.companyID != f.company.ID {
					t.Errorf("viewer %+v company %d, want staff %d ADMIN of company %d", *got.viewer, got.companyID, st.ID, f.company.ID)
				}
			} else if got.companyID != 0 {
				t.Errorf("anonymous request carries company %d", got.companyID)
			}
			if got.origin != "203.0.113.9" {
				t.Errorf("origin = %q, want 203.0.113.9", got.origin)
			}
		})
	}
	if strings.Contains(logs.String(), strings.TrimPrefix(good, "cfs_")) || strings.Contains(logs.String(), strings.TrimPrefix(stale, "cfs_")) {
		t.Errorf("a session token reached the log:\n%s", logs.String())
	}
}

func TestMiddlewareOrigin(t *testing.T) {
	f := setup(t, testConfig())
	proxied := testConfig()
	proxied.TrustProxy = true
	behindProxy := auth.New(f.db, proxied, f.clock.Now)
	for _, tc := range []struct {
		name   string
		svc    *auth.Service
		remote string
		xff    []string
		want   string
	}{
		{"remote address host", f.svc, "203.0.113.9:51234", nil, "203.0.113.9"},
		{"IPv6 remote address", f.svc, "[2001:db8::1]:443", nil, "2001:db8::1"},
		{"forwarded header ignored by default", f.svc, "10.0.0.2:8080", []string{"198.51.100.1"}, "10.0.0.2"},
		{"trusted proxy: last entry", behindProxy, "10.0.0.2:8080", []string{"6.6.6.6, 198.51.100.1"}, "198.51.100.1"},
		{"trusted proxy: last header", behindProxy, "10.0.0.2:8080", []string{"6.6.6.6", "198.51.100.2"}, "198.51.100.2"},
		{"trusted proxy: junk falls back", behindProxy, "10.0.0.2:8080", []string{"not-an-ip"}, "10.0.0.2"},
		{"trusted proxy: no header", behindProxy, "10.0.0.2:8080", nil, "10.0.0.2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := serve(t, auth.Middleware(tc.svc, nil), r).origin; got != tc.want {
				t.Errorf("origin = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBearerToken(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   string
		ok     bool
	}{
		{"Bearer cfs_abc", "cfs_abc", true},
		{"bearer cfs_abc", "cfs_abc", true},
		{"  Bearer   cfs_abc  ", "cfs_abc", true},
		{"Bearer ", "", false},
		{"Bearer", "", false},
		{"Basic cfs_abc", "", false},
		{"cfs_abc", "", false},
		{"", "", false},
	} {
		got, ok := auth.BearerToken(tc.header)
		if got != tc.want || ok != tc.ok {
			t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
}

// A session lookup the database cannot answer is a coded JSON error, never
// text/plain: SERVICE_UNAVAILABLE with 503 and Retry-After while the database
// is unreachable (PostgreSQL stopped), INTERNAL with 500 for anything else
// (here, a closed handle). Neither answers "sign in again": not the caller's fault.
func TestMiddlewareAnswersJSONWhenTheSessionLookupFails(t *testing.T) {
	type want struct {
		status     int
		code       string
		retryAfter bool
	}
	check := func(t *testing.T, f *fixture, token string, breakIt func(), w want) {
		t.Helper()
		breakIt()
		r := httptest.NewRequest(http.MethodPost, "/query", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		reached := false
		auth.Middleware(f.svc, slog.New(slog.NewTextHandler(io.Discard, nil)))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			reached = true
		})).ServeHTTP(rec, r)
		var body struct {
			Errors []struct {
				Message    string
				Extensions map[string]string
			}
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("HTTP %d %q %s: want a JSON GraphQL error", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
		if reached || rec.Code != w.status || len(body.Errors) != 1 || body.Errors[0].Extensions["code"] != w.code ||
			body.Errors[0].Message == "" || (rec.Header().Get("Retry-After") != "") != w.retryAfter {
			t.Fatalf("reached %v, HTTP %d Retry-After %q %s; want %d %s", reached, rec.Code, rec.Header().Get("Retry-After"), rec.Body, w.status, w.code)
		}
	}
	t.Run("closed database", func(t *testing.T) {
		f := setup(t, testConfig())
		f.staff(t, "ana@acme.test", viewer.Admin)
		token := f.login(t, "ana@acme.test").Token
		check(t, f, token, func() { f.db.Close() }, want{http.StatusInternalServerError, "INTERNAL", false})
	})
	t.Run("database stopped", func(t *testing.T) {
		if !dbtest.Postgres() {
			t.Skip("stopping a database needs CARDFILE_TEST_DB=postgres")
		}
		pg := dbtest.PrivatePostgres(t)
		pg.Use(t)
		f := setup(t, testConfig())
		f.staff(t, "ana@acme.test", viewer.Admin)
		token := f.login(t, "ana@acme.test").Token
		check(t, f, token, pg.Stop, want{http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", true})
	})
}
