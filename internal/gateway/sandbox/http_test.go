package sandbox

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// mountedServer serves g the way the app does, under /sandbox/.
func mountedServer(t *testing.T, g *Gateway) *httptest.Server {
	mux := http.NewServeMux()
	mux.Handle("/sandbox/", http.StripPrefix("/sandbox", g.Handler()))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestTokensHandler(t *testing.T) {
	valid := `{"number":"4242 4242 4242 4242","expMonth":12,"expYear":30,"cvc":"123","postalCode":"12345","name":"Jane Doe"}`
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantCode   string
		wantField  string
	}{
		{"valid card", valid, http.StatusCreated, "", ""},
		{"bad Luhn", strings.Replace(valid, "4242 4242 4242 4242", "4242 4242 4242 4241", 1), http.StatusBadRequest, "invalid_number", "number"},
		{"expired", strings.Replace(valid, `"expYear":30`, `"expYear":25`, 1), http.StatusBadRequest, "invalid_expiry", "expiry"},
		{"short cvc", strings.Replace(valid, `"cvc":"123"`, `"cvc":"12"`, 1), http.StatusBadRequest, "invalid_cvc", "cvc"},
		{"bad zip", strings.Replace(valid, `"12345"`, `"1234"`, 1), http.StatusBadRequest, "invalid_postal_code", "postalCode"},
		{"do not honor", strings.Replace(valid, "4242 4242 4242 4242", "4000000000000002", 1), http.StatusPaymentRequired, "do_not_honor", ""},
		{"insufficient funds", strings.Replace(valid, "4242 4242 4242 4242", "4000000000009995", 1), http.StatusPaymentRequired, "insufficient_funds", ""},
		{"malformed JSON", `{"number":`, http.StatusBadRequest, "invalid_request", ""},
		{"wrong type", strings.Replace(valid, `"expMonth":12`, `"expMonth":"twelve"`, 1), http.StatusBadRequest, "invalid_request", ""},
		{"trailing data", valid + `{}`, http.StatusBadRequest, "invalid_request", ""},
		{"oversized body", strings.Replace(valid, "Jane Doe", strings.Repeat("x", 9000), 1), http.StatusRequestEntityTooLarge, "request_too_large", ""},
	}
	eachDB(t, func(t *testing.T, d testDB) {
		g := newGateway(t, d, newTestClock())
		srv := mountedServer(t, g)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp, err := srv.Client().Post(srv.URL+"/sandbox/tokens", "application/json", strings.NewReader(tt.body))
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				raw, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != tt.wantStatus {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, raw)
				}
				if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
				if resp.Header.Get("Cache-Control") != "no-store" {
					t.Errorf("Cache-Control %q, want no-store", resp.Header.Get("Cache-Control"))
				}
				for _, secret := range []string{"4242424242424242", "4242 4242 4242 4242", `"123"`} {
					if strings.Contains(string(raw), secret) {
						t.Errorf("response echoes card data %q: %s", secret, raw)
					}
				}
				if tt.wantStatus == http.StatusCreated {
					var res TokenResult
					if err := json.Unmarshal(raw, &res); err != nil {
						t.Fatal(err)
					}
					if res.Brand != "VISA" || res.Last4 != "4242" || res.ExpMonth != 12 || res.ExpYear != 2030 || res.ExpiresAt.IsZero() {
						t.Errorf("unexpected result %s", raw)
					}
					card, err := g.SaveCard(context.Background(), res.Token)
					if err != nil || card.Last4 != "4242" {
						t.Errorf("SaveCard of the minted token: %+v, %v", card, err)
					}
					return
				}
				var body errorBody
				if err := json.Unmarshal(raw, &body); err != nil {
					t.Fatalf("error body %s: %v", raw, err)
				}
				if body.Error.Code != tt.wantCode || body.Error.Field != tt.wantField || body.Error.Message == "" {
					t.Errorf("error %+v, want code %q field %q and a message", body.Error, tt.wantCode, tt.wantField)
				}
			})
		}
	})
}

func TestFieldsPage(t *testing.T) {
	eachDB(t, func(t *testing.T, d testDB) {
		tests := []struct {
			name          string
			opts          []Option
			wantAncestors string
		}{
			{"default ancestors", nil, "frame-ancestors 'self'"},
			{"allow-listed ancestors", []Option{WithFrameAncestors([]string{"'self'", "https://app.example.com"})}, "frame-ancestors 'self' https://app.example.com"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				srv := mountedServer(t, newGateway(t, d, newTestClock(), tt.opts...))
				resp, err := srv.Client().Get(srv.URL + "/sandbox/fields?origin=https://app.example.com")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				raw, _ := io.ReadAll(resp.Body)
				page := string(raw)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d", resp.StatusCode)
				}
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
					t.Errorf("Content-Type %q", ct)
				}
				if resp.Header.Get("Cache-Control") != "no-store" {
					t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
				}
				csp := resp.Header.Get("Content-Security-Policy")
				if !strings.HasSuffix(csp, tt.wantAncestors) || !strings.Contains(csp, "default-src 'none'") {
					t.Errorf("CSP %q, want default-src 'none' and %s", csp, tt.wantAncestors)
				}
				// The CSP must admit exactly the inline script and style the page carries.
				for _, tag := range []string{"script", "style"} {
					m := regexp.MustCompile(`(?s)<` + tag + `>(.*?)</` + tag + `>`).FindStringSubmatch(page)
					if m == nil {
						t.Fatalf("no <%s> in page", tag)
					}
					if !strings.Contains(csp, tag+"-src 'self' "+cspHash(m[1])) {
						t.Errorf("CSP %q does not allow the page's inline %s", csp, tag)
					}
				}
				for _, want := range []string{
					`autocomplete="cc-number"`, `autocomplete="cc-exp"`, `autocomplete="cc-csc"`,
					`autocomplete="postal-code"`, `autocomplete="cc-name"`, `inputmode="numeric"`,
					"SANDBOX", "4242 4242 4242 4242", "4000 0000 0000 0341", "cardfile:tokenize", "cardfile:ready",
					`<label for="number">`, `<label for="expiry">`, `<label for="cvc">`, `<label for="postalCode">`, `<label for="name">`,
				} {
					if !strings.Contains(page, want) {
						t.Errorf("page lacks %q", want)
					}
				}
				for _, external := range []string{" src=", "<link", "@import", "url("} {
					if strings.Contains(page, external) {
						t.Errorf("page loads an external resource (%q)", external)
					}
				}
			})
		}
	})
}

func TestHandlerMethods(t *testing.T) {
	srv := mountedServer(t, newGateway(t, sqliteDB(t), newTestClock()))
	for _, tt := range []struct{ method, path string }{
		{http.MethodGet, "/sandbox/tokens"},
		{http.MethodPost, "/sandbox/fields"},
	} {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: status %d, want 405", tt.method, tt.path, resp.StatusCode)
		}
	}
}
